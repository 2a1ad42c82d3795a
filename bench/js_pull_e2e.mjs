// Pull mode end to end with JavaScript workers (sdk/js): the same shape as bench_pull_e2e's BM_PullEndToEnd
// (one `ironflow serve` on its embedded nats-server, 4 workers × 8 jobs, a function declaring 5 secrets, 300
// events from 1 or 4 producers or at an offered 300/s), reporting runs/s and p50/p99 from emit to the recorded
// result. The workers run in their own Node process (as an app's would), the producers in this one.
// bench/js_pull_e2e.sh runs it next to the C++ figure in the same session.
//
//   IRONFLOW_BIN=build/bin/ironflow node bench/js_pull_e2e.mjs
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

import { createClient, createFunction, createWorker } from "../sdk/js/dist/index.js";

const WORKERS = 4;
const RUNS = Number(process.env.BENCH_PULL_RUNS ?? 300);
const now = () => performance.timeOrigin + performance.now();

if (process.argv[2] === "--workers") {
  // Child: the workers. Reports each recorded job to the parent; drains on "drain".
  const [serverUrl, apiKey] = process.argv.slice(3);
  const names = ["SECRET_0", "SECRET_1", "SECRET_2", "SECRET_3", "SECRET_4"];
  const fn = createFunction({ id: "bench", triggers: [{ event: "bench.run" }], secrets: names }, ({ secrets }) => {
    for (const n of names) secrets.get(n);
    return { ok: true };
  });
  const workers = [];
  for (let i = 0; i < WORKERS; ++i) {
    workers.push(createWorker({
      functions: [fn], serverUrl, apiKey, environment: "default", workerId: `bench-js-${i}`, maxConcurrentJobs: 8,
      pollWaitMs: 200, handleSignals: false,
      logSink: process.env.BENCH_LOG ? (level, line) => console.error(level, line) : () => {},
      onJobReported: (r) => { if (r.recorded) process.send({ runId: r.runId, at: now() }); },
    }));
  }
  const running = workers.map((w) => w.start());
  await Promise.all(workers.map((w) => w.ready()));
  process.send({ ready: true });
  process.on("message", async (m) => {
    if (m !== "drain") return;
    await Promise.all(workers.map((w) => w.drain()));
    await Promise.all(running);
    process.exit(0);
  });
} else {
  const { randomHex, startServer } = await import("../sdk/js/test/harness.mjs");
  const server = await startServer();
  const admin = createClient({ serverUrl: server.url, apiKey: server.key, environment: "default" });
  for (let i = 0; i < 5; ++i) await admin.secrets.set(`SECRET_${i}`, `v-${randomHex(16)}`);

  async function round(emitters, offered) {
    const runs = offered > 0 ? Math.max(RUNS, offered * 3) : RUNS;
    const emittedAt = new Map();
    const reportedAt = new Map();
    let done;
    const allDone = new Promise((r) => { done = r; });
    const child = fork(fileURLToPath(import.meta.url), ["--workers", server.url, server.key], { stdio: "inherit" });
    await new Promise((resolve) => child.on("message", (m) => {
      if (m.ready) return resolve();
      reportedAt.set(m.runId, m.at);
      if (reportedAt.size >= runs) done();
    }));
    const start = now();
    const producers = [];
    for (let p = 0; p < emitters; ++p) {
      const client = createClient({ serverUrl: server.url, apiKey: server.key, environment: "default" });
      producers.push((async () => {
        for (let i = p; i < runs; i += emitters) {
          if (offered > 0) {
            const due = start + (1000 * i) / offered;
            if (due > now()) await new Promise((r) => setTimeout(r, due - now()));
          }
          const t = now();
          // A plain POST, as bench_pull_e2e's producers send it (events.emit adds an Idempotency-Key, which costs
          // the server a record per event: a producer's choice, not the workers' cost measured here).
          const res = await client.transport.request("POST", "/api/v1/events", { body: '{"name":"bench.run","data":{}}' });
          emittedAt.set(JSON.parse(res.body.toString()).run_ids[0], t);
        }
        client.close();
      })());
    }
    await Promise.all(producers);
    let timer;
    await Promise.race([allDone, new Promise((r) => { timer = setTimeout(r, 120000); })]);
    clearTimeout(timer);
    const seconds = (Math.max(...reportedAt.values()) - start) / 1000;
    child.send("drain");
    await new Promise((r) => child.on("exit", r));
    const latencies = [...reportedAt].map(([run, at]) => at - emittedAt.get(run)).sort((a, b) => a - b);
    const n = latencies.length;
    const pct = (q) => (n ? latencies[Math.min(n - 1, Math.floor(n * q))].toFixed(1) : "-");
    console.log(`JS_PullEndToEnd/emitters:${emitters}/offered:${offered} runs_per_s=${(n / seconds).toFixed(0)} p50_ms=${pct(0.5)} p99_ms=${pct(0.99)} completed=${n}/${runs}`);
  }

  try {
    await round(1, 0);
    await round(WORKERS, 0);
    await round(WORKERS, 300);
  } finally {
    admin.close();
    await server.stop();
  }
}
