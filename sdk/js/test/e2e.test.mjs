// The SDK against a real `ironflow serve` (embedded nats-server): the spec's example in both modes, secrets
// discipline end to end, memoized steps across a retry, worker drain, and the management client.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { inspect } from "node:util";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { createClient, createFunction, createWorker, IronflowError, NonRetryableError } from "../dist/index.js";
import { eventually, randomHex, startProgram, startServer } from "./harness.mjs";

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), "..", "build", "examples");
const sha256 = (s) => createHash("sha256").update(s).digest("hex");

let server;
let admin;
const values = []; // every secret value this file sets: none may appear in any output
const remember = (v) => { values.push(v); return v; };

before(async () => {
  server = await startServer();
  admin = createClient({ serverUrl: server.url, apiKey: server.key, environment: "default" });
  for (const env of ["production", "staging", "sandbox"]) await admin.environments.create(env);
});

after(async () => {
  admin?.close();
  await server?.stop();
});

function assertNoValue(text, where) {
  for (const v of values) assert.ok(!text.includes(v), `a secret value appears in ${where}`);
}

// A promise and the function that settles it: a handler waits on one, the test fires it (or the other way round).
function signal() {
  let fire;
  const promise = new Promise((r) => { fire = r; });
  return { promise, fire };
}

async function finished(client, runId) {
  return eventually(async () => {
    const run = await client.runs.get(runId);
    return run.status === "completed" || run.status === "failed" ? run : null;
  }, 30000, `run ${runId} to finish`);
}

function setThroughCli(name, value, env) {
  const r = server.cli(["secret", "set", name, "-e", env], { input: value });
  assert.equal(r.code, 0, r.stderr);
  assertNoValue(r.stdout + r.stderr, "the CLI's output");
}

test("SpecExampleRunsInAPullWorkerWithTheValueSetThroughTheCli", async () => {
  const stripe = remember(`sk_live_${randomHex(12)}`);
  setThroughCli("STRIPE_KEY", stripe, "production");
  setThroughCli("WEBHOOK_SECRET", remember(`whsec_${randomHex(12)}`), "production");
  const worker = await startProgram(join(EXAMPLES, "payout-worker.js"),
    { IRONFLOW_SERVER_URL: server.url, IRONFLOW_API_KEY: server.key, IRONFLOW_ENV: "production" }, /payout worker:/);
  const prod = admin.withEnvironment("production");
  try {
    await eventually(async () => (await prod.transport.request("GET", "/api/v1/functions/payout")).status === 200, 20000, "payout to be registered");
    const { runIds } = await prod.events.emit("payout.requested", { amount: 4200 });
    assert.equal(runIds.length, 1);
    const run = await finished(prod, runIds[0]);
    assert.equal(run.status, "completed", run.error ?? "");
    assert.equal(run.output.stripeKeySha256, sha256(stripe), "the function saw the value set through the CLI");
    assert.deepEqual(run.output.charge, { charged: true, amount: 4200 });
    assert.equal(run.output.webhookSecretSet, true);
    assertNoValue(JSON.stringify(run), "the recorded run");
  } finally {
    await worker.stop();
  }
  assert.match(worker.output(), /SIGTERM: draining/, "SIGTERM drained the worker");
  assert.match(worker.output(), /payout worker stopped/, "and it stopped cleanly");
  assert.match(worker.output(), /\[REDACTED:STRIPE_KEY\]/, "the function's log line went through the redacting logger");
  assertNoValue(worker.output(), "the worker's output");
  assertNoValue(server.log(), "the server's log");
});

test("SpecExampleRunsAsAPushTwinInAnotherEnvironmentWithItsOwnValue", async () => {
  const stripe = remember(`sk_test_${randomHex(12)}`);
  setThroughCli("STRIPE_KEY", stripe, "staging");
  setThroughCli("WEBHOOK_SECRET", remember(`whsec_${randomHex(12)}`), "staging");
  const app = await startProgram(join(EXAMPLES, "payout-push.js"), {
    IRONFLOW_SERVER_URL: server.url, IRONFLOW_API_KEY: server.key, IRONFLOW_ENV: "staging", IRONFLOW_SIGNING_KEY: server.signingKey,
  }, /listening on (\S+)/);
  const staging = admin.withEnvironment("staging");
  try {
    const { runIds } = await staging.events.emit("payout.requested", { amount: 7 });
    const run = await finished(staging, runIds[0]);
    assert.equal(run.status, "completed", run.error ?? "");
    assert.equal(run.output.stripeKeySha256, sha256(stripe), "staging's value, not production's");
    assertNoValue(JSON.stringify(run), "the recorded run");
    // An unsigned call to the same endpoint is refused and runs nothing.
    const res = await fetch(app.match[1], { method: "POST", body: JSON.stringify({ function_id: "payout", secrets: {} }) });
    assert.equal(res.status, 401);
  } finally {
    await app.stop();
  }
  assertNoValue(app.output(), "the push app's output");
  assertNoValue(server.log(), "the server's log");
});

/** Runs `fns` in an in-process worker for the duration of `body`. */
async function withWorker(env, fns, body, options = {}) {
  const lines = [];
  const worker = createWorker({
    functions: fns, serverUrl: server.url, apiKey: server.key, environment: env, leaseMs: 5000, pollWaitMs: 1000,
    handleSignals: false, workerId: `w-${randomHex(4)}`, logSink: (level, line) => lines.push(line), ...options,
  });
  const running = worker.start();
  await worker.ready();
  try {
    return await body(worker, running, lines);
  } finally {
    await worker.drain();
    await running;
  }
}

test("ValuesStayOutOfLogsErrorsPrintingAndTheRecordedOutput", async () => {
  const value = remember(`tok_${randomHex(12)}`);
  const sandbox = admin.withEnvironment("sandbox");
  await sandbox.secrets.set("API_TOKEN", value);
  const printed = [];
  const leaky = createFunction({ id: "leaky", triggers: [{ event: "leak.*" }], secrets: ["API_TOKEN"], retry: { maxAttempts: 1 } },
    async ({ event, secrets, logger }) => {
      printed.push(JSON.stringify(secrets), String(secrets), inspect(secrets));
      logger.warn("token", secrets.get("API_TOKEN"));
      if (event.name === "leak.error") throw new Error(`upstream refused ${secrets.get("API_TOKEN")}`);
      return { echo: `used ${secrets.get("API_TOKEN")}` };
    });
  await withWorker("sandbox", [leaky], async (_w, _r, lines) => {
    const ok = await finished(sandbox, (await sandbox.events.emit("leak.output", {})).runIds[0]);
    assert.equal(ok.status, "completed");
    assert.equal(ok.output.echo, "used [REDACTED:API_TOKEN]");
    const bad = await finished(sandbox, (await sandbox.events.emit("leak.error", {})).runIds[0]);
    assert.equal(bad.status, "failed");
    assert.equal(bad.error, "upstream refused [REDACTED:API_TOKEN]");
    assertNoValue(JSON.stringify([ok, bad]), "the recorded runs");
    assertNoValue(lines.join("\n"), "the worker's log");
    assert.ok(lines.some((l) => l.includes("[REDACTED:API_TOKEN]")));
  });
  assert.ok(printed.length > 0);
  assertNoValue(printed.join("\n"), "printed secrets objects");
});

test("UndeclaredSecretFailsTheRunWithoutRetryNamingTheDeclaredOnes", async () => {
  const sandbox = admin.withEnvironment("sandbox");
  await sandbox.secrets.set("DECLARED_KEY", remember(`dk_${randomHex(12)}`));
  await sandbox.secrets.set("OTHER_KEY", remember(`ok_${randomHex(12)}`));
  const fn = createFunction({ id: "nosy", triggers: [{ event: "nosy.run" }], secrets: ["DECLARED_KEY"], retry: { maxAttempts: 3 } },
    ({ secrets }) => secrets.get("OTHER_KEY"));
  await withWorker("sandbox", [fn], async () => {
    const run = await finished(sandbox, (await sandbox.events.emit("nosy.run", {})).runIds[0]);
    assert.equal(run.status, "failed");
    assert.equal(run.attempt, 1, "not retried");
    assert.match(run.error, /secret "OTHER_KEY" is not declared by function "nosy" \(declared: DECLARED_KEY\)/);
  });
});

test("AStepThatSucceededIsNotRunAgainWhenTheAttemptIsRetried", async () => {
  const sandbox = admin.withEnvironment("sandbox");
  let charges = 0;
  const fn = createFunction({ id: "charger", triggers: [{ event: "charge.run" }], retry: { maxAttempts: 3, initialDelayMs: 0 } },
    async ({ run, step }) => {
      const charge = await step.run("charge", () => { charges++; return { id: `ch_${charges}` }; });
      if (run.attempt === 1) throw new Error("network blip after the charge");
      return { charge, attempt: run.attempt };
    });
  await withWorker("sandbox", [fn], async () => {
    const run = await finished(sandbox, (await sandbox.events.emit("charge.run", {})).runIds[0]);
    assert.equal(run.status, "completed");
    assert.deepEqual(run.output, { charge: { id: "ch_1" }, attempt: 2 });
    assert.equal(charges, 1, "the charge step ran once across two attempts");
    assert.deepEqual(run.steps.map((s) => s.id), ["charge"]);
  });
});

test("DrainLetsAReceivedJobFinishAndReportThenTakesNoMore", async () => {
  const sandbox = admin.withEnvironment("sandbox");
  const inHandler = signal();
  const gate = signal();
  const fn = createFunction({ id: "slow", triggers: [{ event: "slow.run" }], retry: { maxAttempts: 1 } }, async () => {
    inHandler.fire();
    await gate.promise;
    return "done";
  });
  const worker = createWorker({ functions: [fn], serverUrl: server.url, apiKey: server.key, environment: "sandbox", leaseMs: 5000, pollWaitMs: 1000, handleSignals: false, logSink: () => {} });
  const running = worker.start();
  await worker.ready();
  const first = (await sandbox.events.emit("slow.run", {})).runIds[0];
  await inHandler.promise;
  const drained = worker.drain();
  gate.fire();
  await drained;
  await running;
  const run = await sandbox.runs.get(first);
  assert.equal(run.status, "completed", "the job received before drain finished and was reported");
  assert.equal(run.output, "done");
  const second = (await sandbox.events.emit("slow.run", {})).runIds[0];
  assert.equal((await sandbox.runs.get(second)).status, "queued", "a drained worker takes no new job");
});

test("StopGivesUpOnAStuckJobWhichComesBackToAnotherWorkerWhenItsLeaseEnds", async () => {
  const sandbox = admin.withEnvironment("sandbox");
  const stuck = signal();
  const inHandler = signal();
  const seen = [];
  const config = { id: "stuck", triggers: [{ event: "stuck.run" }], retry: { maxAttempts: 2, initialDelayMs: 0 } };
  const hanging = createFunction(config, async ({ run }) => { seen.push(`hanging:${run.attempt}`); inHandler.fire(); await stuck.promise; return "late"; });
  const first = createWorker({ functions: [hanging], serverUrl: server.url, apiKey: server.key, environment: "sandbox", leaseMs: 1000, pollWaitMs: 500, handleSignals: false, logSink: () => {}, workerId: "stuck-1" });
  const running = first.start();
  await first.ready();
  const runId = (await sandbox.events.emit("stuck.run", {})).runIds[0];
  await inHandler.promise;
  await first.stop(100); // the job is still running: abandoned
  await running;
  const healthy = createFunction(config, ({ run }) => { seen.push(`healthy:${run.attempt}`); return "done"; });
  await withWorker("sandbox", [healthy], async () => {
    const run = await finished(sandbox, runId);
    assert.equal(run.status, "completed");
    assert.equal(run.output, "done");
    assert.equal(run.attempt, 2, "the abandoned attempt counted as failed and was retried");
  });
  stuck.fire();
  assert.deepEqual(seen, ["hanging:1", "healthy:2"]);
});

test("ManagementClientRoundTripsKeepEnvironmentsApart", async () => {
  const prod = admin.withEnvironment("production");
  const staging = admin.withEnvironment("staging");
  const p1 = remember(`pv1_${randomHex(10)}`);
  const p2 = remember(`pv2_${randomHex(10)}`);
  const s1 = remember(`sv1_${randomHex(10)}`);
  const created = await prod.secrets.set("DB_PASSWORD", p1, { description: "primary db" });
  assert.equal(created.environment, "production");
  await staging.secrets.set("DB_PASSWORD", s1);
  const rotated = await prod.secrets.set("DB_PASSWORD", p2, { ifRevision: created.revision });
  assert.ok(rotated.revision > created.revision);
  await assert.rejects(prod.secrets.set("DB_PASSWORD", p1, { ifRevision: created.revision }),
    (e) => e instanceof IronflowError && e.status === 412 && e.code === "precondition_failed");
  const meta = await prod.secrets.get("DB_PASSWORD");
  assert.equal(meta.description, "primary db");
  assert.equal((await staging.secrets.get("DB_PASSWORD")).environment, "staging");
  assert.equal((await prod.secrets.versions("DB_PASSWORD")).length, 2);
  assert.equal((await staging.secrets.versions("DB_PASSWORD")).length, 1, "staging's history is its own");
  const back = await prod.secrets.rollback("DB_PASSWORD", created.revision);
  assert.ok(back.revision > rotated.revision);
  assert.ok((await prod.secrets.list()).some((s) => s.name === "DB_PASSWORD"));
  await staging.secrets.delete("DB_PASSWORD");
  assert.equal(await staging.secrets.get("DB_PASSWORD"), null);
  assert.notEqual(await prod.secrets.get("DB_PASSWORD"), null, "deleting staging's left production's");
  assertNoValue(JSON.stringify([created, rotated, meta, back, await prod.secrets.list(), await prod.secrets.versions("DB_PASSWORD")]), "secret metadata");

  // Config, with a watch that sees the current document and then the change.
  const rev = await prod.config.set("checkout", { currency: "EUR", limit: 10 });
  assert.equal(await staging.config.get("checkout"), null);
  const ac = new AbortController();
  const watch = prod.config.watch("checkout", { signal: ac.signal });
  const firstFrame = await watch.next();
  assert.equal(firstFrame.value.type, "config_update");
  assert.equal(firstFrame.value.revision, rev);
  const patched = await prod.config.patch("checkout", { limit: 20, currency: null });
  assert.deepEqual(patched.data, { limit: 20 });
  const change = await watch.next();
  assert.deepEqual(change.value.data, { limit: 20 });
  await watch.return();
  ac.abort();
  assert.deepEqual(await prod.config.list(), ["checkout"]);
  await prod.config.delete("checkout");
  assert.equal(await prod.config.get("checkout"), null);

  // KV: values, create-only, counters, keys and a watch.
  await prod.kv.createBucket("sessions", { ttl_seconds: 3600 });
  const b = prod.kv.bucket("sessions");
  const r1 = await b.put("user.1", "alice");
  assert.equal((await b.get("user.1")).value.toString(), "alice");
  assert.equal(await b.create("user.1", "mallory"), false);
  assert.equal(await b.create("user.2", Buffer.from([0, 1, 2])), true);
  await assert.rejects(b.put("user.1", "x", { ifRevision: r1 + 100 }), (e) => e.status === 412);
  assert.equal(await b.increment("hits"), 1);
  assert.equal(await b.increment("hits", 41), 42);
  assert.deepEqual(await b.keys("user.*"), ["user.1", "user.2"]);
  const kvWatch = b.watch("user.>");
  const seen = [(await kvWatch.next()).value, (await kvWatch.next()).value];
  assert.deepEqual(seen.map((f) => f.key).sort(), ["user.1", "user.2"]);
  await b.delete("user.2");
  const del = (await kvWatch.next()).value;
  assert.deepEqual([del.key, del.operation], ["user.2", "delete"]);
  await kvWatch.return();
  assert.equal(await b.get("user.2"), null);
  await assert.rejects(staging.kv.bucket("sessions").get("user.1"), (e) => e.status === 404 && e.code === "not_found");

  // Events and runs.
  const { eventId, runIds } = await prod.events.emit("nobody.listens", { x: 1 });
  assert.match(eventId, /^evt_/);
  assert.deepEqual(runIds, []);
  const runs = await prod.runs.list({ functionId: "payout", limit: 5 });
  assert.ok(runs.every((r) => r.function_id === "payout"));
  await assert.rejects(prod.runs.get("run_000000000000000000000000"), (e) => e instanceof IronflowError && e.status === 404);
  assert.ok((await admin.environments.list()).some((e) => e.name === "staging"));
});

test("ErrorsAreIronflowErrorsWithCodeStatusAndMessage", async () => {
  const bad = createClient({ serverUrl: server.url, apiKey: "ifkey_" + "0".repeat(32), environment: "default" });
  try {
    await assert.rejects(bad.secrets.list(), (e) => e instanceof IronflowError && e.status === 401 && e.code === "unauthenticated");
  } finally {
    bad.close();
  }
  await assert.rejects(admin.withEnvironment("nowhere").secrets.list(), (e) => e.status === 404 && /environment "nowhere"/.test(e.message));
  const down = createClient({ serverUrl: "http://127.0.0.1:1", apiKey: "x", environment: "default" });
  await assert.rejects(down.secrets.list(), (e) => e instanceof IronflowError && e.status === 0 && e.code === "unavailable");
  down.close();
});
