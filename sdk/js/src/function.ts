// IronflowFunction: what createFunction() returns: the configuration the server registers, and the handler.
// runJob() runs one delivered attempt (pull job or push call) and turns its outcome into the result the server
// records; it never throws.
import { NonRetryableError, SecretNotDeclaredError } from "./errors.js";
import type { ConfigApi, KvBucketApi } from "./client.js";
import { type Logger, type LogSink, redactingLogger } from "./logger.js";
import { Secrets } from "./secrets.js";
import { Steps } from "./steps.js";

export interface RetryPolicy {
  maxAttempts?: number;
  initialDelayMs?: number;
  backoffFactor?: number;
  maxDelayMs?: number;
}

export interface FunctionConfig {
  id: string;
  name?: string;
  triggers: Array<{ event: string }>;
  secrets?: string[];
  retry?: RetryPolicy;
  /** Milliseconds an attempt may take (server default 30000). */
  timeout?: number;
  /** How the server delivers runs: "pull" (workers poll, the default) or "push" (a signed HTTP call). */
  mode?: "push" | "pull";
}

export interface EventPayload {
  id: string;
  name: string;
  data: unknown;
  timestamp: string;
}

export interface FunctionContext {
  event: EventPayload;
  step: Steps;
  secrets: Secrets;
  run: { id: string; functionId: string; attempt: number; environment: string };
  logger: Logger;
  /** The run's environment's config documents (needs a server URL and API key where the function runs). */
  config: ConfigApi;
  /** A KV bucket of the run's environment. */
  kv(bucket: string): KvBucketApi;
}

export type Handler<T = unknown> = (ctx: FunctionContext) => T | Promise<T>;

export interface IronflowFunction<T = unknown> {
  readonly config: Readonly<FunctionConfig>;
  readonly handler: Handler<T>;
}

const idPattern = /^[a-z0-9][a-z0-9_-]{0,127}$/;
const secretPattern = /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/;

/** Declares a function. Invalid configuration throws at once (the server would refuse it anyway). */
export function createFunction<T>(config: FunctionConfig, handler: Handler<T>): IronflowFunction<T> {
  if (!config || typeof config.id !== "string" || !idPattern.test(config.id)) {
    throw new TypeError(`function id must match ${idPattern}; got ${JSON.stringify(config?.id)}`);
  }
  if (!Array.isArray(config.triggers) || config.triggers.length === 0) {
    throw new TypeError(`function "${config.id}" needs at least one trigger: triggers: [{ event: "..." }]`);
  }
  for (const s of config.secrets ?? []) {
    if (typeof s !== "string" || !secretPattern.test(s)) throw new TypeError(`function "${config.id}": invalid secret name ${JSON.stringify(s)}`);
  }
  if (config.mode !== undefined && config.mode !== "push" && config.mode !== "pull") {
    throw new TypeError(`function "${config.id}": mode must be "push" or "pull"`);
  }
  if (typeof handler !== "function") throw new TypeError(`function "${config.id}": the handler must be a function`);
  const frozen = Object.freeze({ ...config, triggers: config.triggers.map((t) => ({ ...t })), secrets: [...(config.secrets ?? [])] });
  return Object.freeze({ config: frozen, handler });
}

/** The registration body of POST /api/v1/functions. */
export function registrationBody(fn: IronflowFunction, mode: "push" | "pull", url?: string): Record<string, unknown> {
  const c = fn.config;
  const body: Record<string, unknown> = {
    id: c.id,
    triggers: c.triggers.map((t) => ({ event: t.event })),
    secrets: c.secrets ?? [],
    mode,
  };
  if (c.name) body.name = c.name;
  if (c.timeout !== undefined) body.timeout_ms = c.timeout;
  if (c.retry) {
    const r: Record<string, number> = {};
    if (c.retry.maxAttempts !== undefined) r.max_attempts = c.retry.maxAttempts;
    if (c.retry.initialDelayMs !== undefined) r.initial_delay_ms = c.retry.initialDelayMs;
    if (c.retry.backoffFactor !== undefined) r.backoff_factor = c.retry.backoffFactor;
    if (c.retry.maxDelayMs !== undefined) r.max_delay_ms = c.retry.maxDelayMs;
    body.retry = r;
  }
  if (url) body.url = url;
  return body;
}

/** One delivered attempt, as the server sends it (pull: secrets under context; push: top level). */
export interface Job {
  run_id?: string;
  function_id?: string;
  environment?: string;
  attempt?: number;
  event?: EventPayload;
  steps?: unknown;
  secrets?: Record<string, unknown>;
  context?: { secrets?: Record<string, unknown> };
}

export interface JobResult {
  status: "completed" | "failed";
  output?: unknown;
  error?: { message: string; retryable: boolean };
  steps: Array<{ id: string; output: unknown }>;
}

export interface RunDeps {
  /** Config and KV clients for an environment (null: none configured where the function runs). */
  stores: (environment: string) => { config: ConfigApi; kv: (bucket: string) => KvBucketApi } | null;
  environment: string;
  logSink?: LogSink;
}

function missingStores(): never {
  throw new Error("config and kv need a server URL and API key where the function runs (serverUrl / apiKey options)");
}

/** Runs the handler for one job; the outcome (return value or error) becomes the result. Never throws. */
export async function runJob(fn: IronflowFunction, job: Job, deps: RunDeps): Promise<JobResult> {
  const functionId = job.function_id ?? fn.config.id;
  const environment = job.environment ?? deps.environment;
  const delivered = job.context && typeof job.context.secrets === "object" ? job.context.secrets : job.secrets;
  const secrets = new Secrets(functionId, fn.config.secrets ?? [], delivered ?? undefined);
  const steps = new Steps(job.steps);
  const stores = deps.stores(environment);
  const runId = job.run_id ?? "";
  const ctx: FunctionContext = {
    event: job.event ?? { id: "", name: "", data: null, timestamp: "" },
    step: steps,
    secrets,
    run: { id: runId, functionId, attempt: job.attempt ?? 1, environment },
    logger: redactingLogger(`[${functionId} ${runId}] `, () => secrets.redactions(), deps.logSink),
    get config(): ConfigApi {
      return stores ? stores.config : missingStores();
    },
    kv: (bucket: string) => (stores ? stores.kv(bucket) : missingStores()),
  };
  let result: JobResult;
  try {
    const output = await fn.handler(ctx);
    result = { status: "completed", output: output === undefined ? null : output, steps: [] };
  } catch (e) {
    const retryable = !(e instanceof NonRetryableError || e instanceof SecretNotDeclaredError);
    const message = e instanceof Error ? e.message : "handler threw a non-Error value";
    result = { status: "failed", error: { message, retryable }, steps: [] };
  } finally {
    secrets.clear();
  }
  result.steps = steps.recorded();
  return result;
}
