// Unit tests of the SDK's pieces that need no server: signatures, secret printing, the outcome of an attempt,
// step memoization, log redaction, the retry table.
import { test } from "node:test";
import assert from "node:assert/strict";
import { inspect, format } from "node:util";

import {
  createFunction, createWorker, runJob, signPayload, verifySignature, serve, Secrets, NonRetryableError,
} from "../dist/index.js";
import { isKeyedRoute } from "../dist/transport.js";
import { serializeResult } from "../dist/worker.js";

const KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const OTHER = "ff".repeat(32);
const VALUE = "sk_live_9f8e7d6c5b4a";
const noStores = { environment: "production", stores: () => null, logSink: () => {} };

test("SignatureMatchesTheServersTestVector", () => {
  assert.equal(
    signPayload('{"run_id":"run_1"}', KEY, 1700000000),
    "t=1700000000,v1=bf2a048d6e79b374e8fdfb9bdb3b4047d998c76b4416bcafd7d498494b835df5",
  );
});

test("SignatureTableAcceptsOnlyFreshUntamperedBodiesUnderAKnownKey", () => {
  const body = Buffer.from('{"function_id":"payout"}');
  const now = 1800000000;
  const cases = [
    ["good", signPayload(body, KEY, now), body, true],
    ["at the 300 s edge", signPayload(body, KEY, now - 300), body, true],
    ["stale", signPayload(body, KEY, now - 301), body, false],
    ["from the future", signPayload(body, KEY, now + 301), body, false],
    ["tampered body", signPayload(body, KEY, now), Buffer.from('{"function_id":"payouT"}'), false],
    ["wrong key", signPayload(body, OTHER, now), body, false],
    ["rotation: ours second", signPayload(body, [OTHER, KEY], now), body, true],
    ["rotation: ours first", signPayload(body, [KEY, OTHER], now), body, true],
    ["two t", `t=${now},` + signPayload(body, KEY, now), body, false],
    ["no v1", `t=${now}`, body, false],
    ["garbage", "hello", body, false],
    ["empty", "", body, false],
  ];
  for (const [name, header, b, want] of cases) assert.equal(verifySignature(header, b, KEY, now), want, name);
});

test("PrintingSecretsShowsNamesOnly", () => {
  const s = new Secrets("payout", ["STRIPE_KEY", "WEBHOOK_SECRET"], { STRIPE_KEY: VALUE, WEBHOOK_SECRET: "whsec_abcdef" });
  const printed = [JSON.stringify(s), String(s), `${s}`, inspect(s), format("%o", s), format("%s", s), inspect({ ctx: { s } }, { depth: 5, showHidden: true })];
  for (const p of printed) {
    assert.ok(!p.includes(VALUE) && !p.includes("whsec_abcdef"), `a value leaked in: ${p}`);
    assert.ok(p.includes("STRIPE_KEY"), `names shown: ${p}`);
  }
  assert.equal(s.get("STRIPE_KEY"), VALUE);
  assert.equal(s.has("STRIPE_KEY"), true);
});

test("UndeclaredSecretFailsTheAttemptForGoodWithoutAValue", async () => {
  const fn = createFunction({ id: "f", triggers: [{ event: "e" }], secrets: ["STRIPE_KEY"] }, ({ secrets }) => secrets.get("OTHER_KEY"));
  const r = await runJob(fn, { function_id: "f", secrets: { STRIPE_KEY: VALUE, OTHER_KEY: "other_value_123" } }, noStores);
  assert.equal(r.status, "failed");
  assert.equal(r.error.retryable, false);
  assert.match(r.error.message, /secret "OTHER_KEY" is not declared by function "f" \(declared: STRIPE_KEY\)/);
  assert.ok(!JSON.stringify(r).includes(VALUE) && !JSON.stringify(r).includes("other_value_123"));
});

test("DeclaredButUndeliveredSecretThrowsSecretNotSet", async () => {
  let caught;
  const fn = createFunction({ id: "f", triggers: [{ event: "e" }], secrets: ["STRIPE_KEY", "MISSING"] }, ({ secrets }) => {
    assert.equal(secrets.has("MISSING"), false);
    try { secrets.get("MISSING"); } catch (e) { caught = e; throw e; }
  });
  const r = await runJob(fn, { function_id: "f", context: { secrets: { STRIPE_KEY: VALUE } } }, noStores);
  assert.equal(caught?.name, "SecretNotSetError");
  assert.equal(r.status, "failed");
  assert.equal(r.error.retryable, true);
  assert.match(r.error.message, /secret "MISSING" is declared by function "f" but was not delivered/);
});

test("OnlyDeclaredSecretsReachTheHandler", async () => {
  const fn = createFunction({ id: "f", triggers: [{ event: "e" }], secrets: ["A_KEY"] }, ({ secrets }) => ({ names: secrets.names(), hasB: secrets.has("B_KEY") }));
  const r = await runJob(fn, { function_id: "f", secrets: { A_KEY: "aaaa1111", B_KEY: "bbbb2222" } }, noStores);
  assert.deepEqual(r.output, { names: ["A_KEY"], hasB: false });
});

test("StepsRecordedByAnEarlierAttemptAreNotRunAgain", async () => {
  let calls = 0;
  const fn = createFunction({ id: "f", triggers: [{ event: "e" }] }, async ({ step }) => {
    const a = await step.run("a", () => { calls++; return { n: 1 }; });
    const b = await step.run("b", () => { calls++; return 2; });
    return { a, b };
  });
  const r = await runJob(fn, { function_id: "f", steps: [{ id: "a", output: { n: 41 } }] }, noStores);
  assert.equal(calls, 1, "only step b ran");
  assert.deepEqual(r.output, { a: { n: 41 }, b: 2 });
  assert.deepEqual(r.steps, [{ id: "a", output: { n: 41 } }, { id: "b", output: 2 }]);
});

test("AFailedAttemptStillReportsItsCompletedSteps", async () => {
  const fn = createFunction({ id: "f", triggers: [{ event: "e" }] }, async ({ step }) => {
    await step.run("charge", () => "ch_1");
    throw new NonRetryableError("card declined");
  });
  const r = await runJob(fn, { function_id: "f" }, noStores);
  assert.deepEqual(r, { status: "failed", error: { message: "card declined", retryable: false }, steps: [{ id: "charge", output: "ch_1" }] });
});

test("LoggerRedactsDeliveredValues", async () => {
  const lines = [];
  const fn = createFunction({ id: "f", triggers: [{ event: "e" }], secrets: ["STRIPE_KEY"] }, ({ secrets, logger }) => {
    logger.info("key is", secrets.get("STRIPE_KEY"), { nested: secrets.get("STRIPE_KEY") });
    logger.error(`in a template ${secrets.get("STRIPE_KEY")}`);
  });
  await runJob(fn, { function_id: "f", secrets: { STRIPE_KEY: VALUE } }, { ...noStores, logSink: (level, line) => lines.push(line) });
  assert.equal(lines.length, 2);
  for (const l of lines) {
    assert.ok(!l.includes(VALUE), l);
    assert.ok(l.includes("[REDACTED:STRIPE_KEY]"), l);
  }
});

test("OutputThatIsNotJsonFailsTheAttemptInsteadOfTheWorker", async () => {
  const fn = createFunction({ id: "f", triggers: [{ event: "e" }] }, () => ({ big: 1n }));
  const r = await runJob(fn, { function_id: "f" }, noStores);
  const sent = JSON.parse(serializeResult(r, "lt1.x"));
  assert.equal(sent.status, "failed");
  assert.equal(sent.error.retryable, false);
  assert.equal(sent.lease_token, "lt1.x");
});

test("InvalidFunctionConfigurationIsRefusedAtOnce", () => {
  const h = () => null;
  assert.throws(() => createFunction({ id: "Bad Id", triggers: [{ event: "e" }] }, h), /function id/);
  assert.throws(() => createFunction({ id: "f", triggers: [] }, h), /at least one trigger/);
  assert.throws(() => createFunction({ id: "f", triggers: [{ event: "e" }], secrets: ["not valid!"] }, h), /invalid secret name/);
  assert.throws(() => createFunction({ id: "f", triggers: [{ event: "e" }], mode: "both" }, h), /mode/);
  assert.throws(() => serve({ functions: [], signingKey: "short" }), /64 hex/);
  const pushOnly = createFunction({ id: "p", triggers: [{ event: "e" }], mode: "push" }, h);
  const pullOnly = createFunction({ id: "q", triggers: [{ event: "e" }], mode: "pull" }, h);
  assert.throws(() => createWorker({ functions: [pushOnly], handleSignals: false }), /mode "push"/);
  assert.throws(() => serve({ functions: [pullOnly], signingKey: KEY }), /mode "pull"/);
});

test("OnlyTheServersKeyedWritesAreRetriedWithAnIdempotencyKey", () => {
  assert.ok(isKeyedRoute("POST", "/api/v1/events"));
  assert.ok(isKeyedRoute("PUT", "/api/v1/secrets/STRIPE_KEY"));
  assert.ok(isKeyedRoute("POST", "/api/v1/secrets/STRIPE_KEY/rollback"));
  assert.ok(isKeyedRoute("PATCH", "/api/v1/config/app"));
  assert.ok(isKeyedRoute("PUT", "/api/v1/kv/buckets/b/keys/k"));
  assert.ok(isKeyedRoute("POST", "/api/v1/kv/buckets/b/keys/k/increment"));
  assert.ok(!isKeyedRoute("GET", "/api/v1/secrets/STRIPE_KEY"));
  assert.ok(!isKeyedRoute("POST", "/api/v1/functions"));
  assert.ok(!isKeyedRoute("PUT", "/api/v1/workers/w/jobs/job_1"));
  assert.ok(!isKeyedRoute("POST", "/api/v1/kv/buckets"));
});

test("FetchHandlerRunsTheFunctionOnlyForASignedCall", async () => {
  let ran = 0;
  const fn = createFunction({ id: "payout", triggers: [{ event: "e" }], secrets: ["STRIPE_KEY"] }, ({ secrets }) => { ran++; return { len: secrets.get("STRIPE_KEY").length }; });
  const handler = serve({ functions: [fn], signingKey: KEY, apiKey: "" });
  const body = JSON.stringify({ function_id: "payout", run_id: "run_1", attempt: 1, secrets: { STRIPE_KEY: VALUE }, steps: [] });
  const call = (sig) => handler(new Request("http://app/api/ironflow", { method: "POST", body, headers: sig ? { "X-Ironflow-Signature": sig } : {} }));
  assert.equal((await call(null)).status, 401);
  assert.equal((await call(signPayload(body, OTHER))).status, 401);
  assert.equal(ran, 0, "unsigned and forged calls never run the function");
  const ok = await call(signPayload(body, KEY));
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { status: "completed", output: { len: VALUE.length }, steps: [] });
  assert.equal(ran, 1);
});
