// Push signatures over a real node:http listener, and the SDK over HTTPS with caFile (a real server with
// --tls-cert, a pull worker and the management client).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer, request } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { createClient, createFunction, createWorker, IronflowError, serve, signPayload } from "../dist/index.js";
import { eventually, randomHex, startServer, writeTemp } from "./harness.mjs";

function post(port, body, signature) {
  return new Promise((resolve, reject) => {
    const headers = { "Content-Type": "application/json" };
    if (signature !== null) headers["X-Ironflow-Signature"] = signature;
    const req = request({ host: "127.0.0.1", port, method: "POST", path: "/api/ironflow", headers }, (res) => {
      let text = "";
      res.on("data", (d) => { text += d; });
      res.on("end", () => resolve({ status: res.statusCode, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

test("PushEndpointRunsTheFunctionOnlyForFreshCallsSignedWithACurrentKey", async () => {
  const current = randomHex(32);
  const previous = randomHex(32);
  const stranger = randomHex(32);
  let ran = 0;
  const fn = createFunction({ id: "payout", triggers: [{ event: "payout.requested" }], secrets: ["STRIPE_KEY"] }, ({ secrets }) => {
    ran++;
    return { length: secrets.get("STRIPE_KEY").length };
  });
  const http = createServer(serve({ functions: [fn], signingKey: current, apiKey: "" }));
  await new Promise((r) => http.listen(0, "127.0.0.1", r));
  const port = http.address().port;
  const body = JSON.stringify({ function_id: "payout", run_id: "run_1", attempt: 1, environment: "production", secrets: { STRIPE_KEY: "sk_live_abcdef" }, steps: [] });
  const now = Math.floor(Date.now() / 1000);
  try {
    const table = [
      ["good", body, signPayload(body, current), 200],
      ["rotated key: two v1, ours second", body, signPayload(body, [stranger, current]), 200],
      ["stale (301 s old)", body, signPayload(body, current, now - 301), 401],
      ["tampered body", body.replace("run_1", "run_2"), signPayload(body, current), 401],
      ["wrong key", body, signPayload(body, stranger), 401],
      ["the previous key alone, once rotated out", body, signPayload(body, previous), 401],
      ["unsigned", body, null, 401],
    ];
    let expectedRuns = 0;
    for (const [name, b, sig, status] of table) {
      const res = await post(port, b, sig);
      assert.equal(res.status, status, name);
      if (status === 200) {
        expectedRuns++;
        assert.deepEqual(JSON.parse(res.text), { status: "completed", output: { length: 14 }, steps: [] }, name);
      } else {
        assert.equal(JSON.parse(res.text).error.code, "unauthenticated", name);
      }
      assert.equal(ran, expectedRuns, `${name}: the function ran only for accepted calls`);
    }
    const unknown = JSON.stringify({ function_id: "refund" });
    assert.equal((await post(port, unknown, signPayload(unknown, current))).status, 404);
  } finally {
    http.close();
  }
});

function makePki(dir) {
  const run = (args) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  writeTemp(dir, "san.ext", "subjectAltName=IP:127.0.0.1\n");
  run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=test-ca"]);
  run(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]);
  run(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext"]);
  return { ca: join(dir, "ca.pem"), cert: join(dir, "server.pem"), key: join(dir, "server.key") };
}

test("OverHttpsTheWorkerAndClientTrustTheServerThroughCaFileAndNothingElse", async () => {
  const pkiDir = mkdtempSync(join(tmpdir(), "ironflow-js-pki-"));
  const pki = makePki(pkiDir);
  const server = await startServer({ extraArgs: ["--tls-cert", pki.cert, "--tls-key", pki.key], scheme: "https" });
  const opts = { serverUrl: server.url, apiKey: server.key, environment: "default" };
  try {
    const untrusting = createClient(opts);
    await assert.rejects(untrusting.secrets.list(), (e) => e instanceof IronflowError && e.status === 0 && /certificate/i.test(e.message));
    untrusting.close();

    const client = createClient({ ...opts, caFile: pki.ca });
    const value = `sk_tls_${randomHex(10)}`;
    await client.secrets.set("STRIPE_KEY", value);
    const fn = createFunction({ id: "tls-payout", triggers: [{ event: "tls.payout" }], secrets: ["STRIPE_KEY"] },
      ({ secrets }) => ({ ok: secrets.get("STRIPE_KEY") === value }));
    const worker = createWorker({ ...opts, caFile: pki.ca, functions: [fn], handleSignals: false, pollWaitMs: 1000, logSink: () => {} });
    const running = worker.start();
    await worker.ready();
    const { runIds } = await client.events.emit("tls.payout", {});
    const run = await eventually(async () => {
      const r = await client.runs.get(runIds[0]);
      return r.status === "completed" || r.status === "failed" ? r : null;
    }, 30000, "the run over https");
    await worker.drain();
    await running;
    assert.equal(run.status, "completed");
    assert.deepEqual(run.output, { ok: true });
    // Event streams go over their own connections: they must trust the same CA.
    await client.config.set("tls-flags", { on: true });
    const watch = client.config.watch("tls-flags");
    assert.deepEqual((await watch.next()).value.data, { on: true });
    await watch.return();
    client.close();
    assert.ok(!server.log().includes(value));
  } finally {
    await server.stop();
    rmSync(pkiDir, { recursive: true, force: true });
  }
});
