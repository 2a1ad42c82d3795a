// Worker (pull mode): registers its functions and itself, long-polls the server for jobs, runs up to
// maxConcurrentJobs at once, heartbeats while it holds jobs (that is what extends their leases) and reports each
// result. drain() and stop() end it cleanly; SIGTERM/SIGINT drain it (a second signal exits at once).
//
// A result is serialized once and the same bytes are re-sent after a lost answer or a 5xx: the server accepts an
// identical repeat once and refuses a different one (409). A job the worker never reports comes back to the
// server's queue when its lease ends, counted as a failed attempt and retried under the function's policy: that
// is how stop() "releases" the jobs it gave up on.
import { hostname } from "node:os";

import { IronflowError } from "./errors.js";
import { type IronflowFunction, type Job, type JobResult, registrationBody, runJob } from "./function.js";
import { type LogSink, consoleSink } from "./logger.js";
import { type ConnectionOptions, resolveConnection, segment, Transport } from "./transport.js";
import { ConfigApi, KvBucketApi } from "./client.js";

export interface WorkerOptions extends ConnectionOptions {
  functions: IronflowFunction<any>[];
  /** Jobs run at once (1-1000, default 8). */
  maxConcurrentJobs?: number;
  /** Default: <hostname>-<pid>. */
  workerId?: string;
  /** Lease the server grants per job; heartbeats every third of it extend it (default 30000). */
  leaseMs?: number;
  /** Long-poll wait (default 5000). */
  pollWaitMs?: number;
  /** Drain on SIGTERM/SIGINT, exit on the second (default true). */
  handleSignals?: boolean;
  /** Where the worker's own lines and the handlers' logger go (default: console). */
  logSink?: LogSink;
  /** Called once per job after its result was sent: recorded (2xx) or not (lease lost, server gone). */
  onJobReported?: (report: JobReport) => void;
}

export interface JobReport {
  jobId: string;
  runId: string;
  functionId: string;
  attempt: number;
  status: "completed" | "failed";
  recorded: boolean;
}

export interface Worker {
  /** Registers and runs until drained or stopped; rejects on a refused registration. */
  start(): Promise<void>;
  /** Resolves once the functions and the worker are registered (events emitted from then on start runs). */
  ready(): Promise<void>;
  /**
   * Takes no new jobs; resolves once every job received has run and been reported. A long poll in flight is
   * answered first (within pollWaitMs) and the jobs it brings run too.
   */
  drain(): Promise<void>;
  /** Like drain(), but gives running jobs at most `graceMs` (default: the lease) and abandons the rest. */
  stop(graceMs?: number): Promise<void>;
}

const transient = (status: number) => status === 0 || status === 408 || status === 429 || status >= 500;
const delay = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
  });

export function createWorker(options: WorkerOptions): Worker {
  return new PullWorker(options);
}

class PullWorker implements Worker {
  private readonly t: Transport;
  private readonly fns = new Map<string, IronflowFunction>();
  private readonly id: string;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly pollWaitMs: number;
  private readonly sink: LogSink;
  private readonly handleSignals: boolean;
  private readonly onJobReported: ((report: JobReport) => void) | undefined;
  private readonly stopping = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private running: Promise<void> | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private slotFreed: (() => void) | null = null;
  private signalHandler: ((sig: NodeJS.Signals) => void) | null = null;
  private readonly byEnvironment = new Map<string, Transport>();
  private markReady: () => void = () => {};
  private giveUp: () => void = () => {};
  private abandoned = false;
  private readonly gaveUp = new Promise<void>((r) => { this.giveUp = r; });
  private readonly registered = new Promise<void>((r) => { this.markReady = r; });

  constructor(o: WorkerOptions) {
    this.t = new Transport(resolveConnection(o));
    for (const fn of o.functions ?? []) {
      if (fn.config.mode === "push") throw new TypeError(`function "${fn.config.id}" is declared mode "push": serve it with serve(), not a worker`);
      this.fns.set(fn.config.id, fn);
    }
    if (this.fns.size === 0) throw new TypeError("createWorker needs at least one function");
    this.id = o.workerId ?? `${hostname()}-${process.pid}`.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 128);
    this.concurrency = o.maxConcurrentJobs ?? 8;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1 || this.concurrency > 1000) {
      throw new TypeError("maxConcurrentJobs must be an integer from 1 to 1000");
    }
    this.leaseMs = o.leaseMs ?? 30000;
    this.pollWaitMs = o.pollWaitMs ?? 5000;
    this.sink = o.logSink ?? consoleSink;
    this.handleSignals = o.handleSignals ?? true;
    this.onJobReported = o.onJobReported;
  }

  start(): Promise<void> {
    this.running ??= this.run();
    return this.running;
  }

  ready(): Promise<void> {
    return this.registered;
  }

  async drain(): Promise<void> {
    this.stopping.abort();
    await Promise.all([...this.inFlight]);
    if (this.running) await this.running.catch(() => undefined);
  }

  async stop(graceMs = this.leaseMs): Promise<void> {
    this.stopping.abort();
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((r) => { timer = setTimeout(r, graceMs); });
    await Promise.race([Promise.all([...this.inFlight]), graceOver]);
    clearTimeout(timer);
    this.abandoned = true;
    this.giveUp();
    const wake = this.slotFreed; // a loop waiting for a free slot ends too
    this.slotFreed = null;
    wake?.();
    if (this.inFlight.size > 0) {
      this.log("warn", `stopped with ${this.inFlight.size} job(s) unfinished: the server retries them when their leases end`);
    }
    this.finish();
  }

  private log(level: "info" | "warn" | "error", line: string): void {
    this.sink(level, `ironflow worker ${this.id}: ${line}`);
  }

  private installSignals(): void {
    if (!this.handleSignals) return;
    let seen = 0;
    this.signalHandler = (sig) => {
      if (++seen > 1) process.exit(130);
      this.log("info", `${sig}: draining (send it again to exit at once)`);
      void this.drain();
    };
    process.on("SIGTERM", this.signalHandler);
    process.on("SIGINT", this.signalHandler);
  }

  private finish(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    if (this.signalHandler) {
      process.off("SIGTERM", this.signalHandler);
      process.off("SIGINT", this.signalHandler);
      this.signalHandler = null;
    }
    this.t.close();
    for (const t of this.byEnvironment.values()) t.close();
  }

  private async register(): Promise<void> {
    for (const fn of this.fns.values()) {
      await this.retrying(() => this.t.call("POST", "/api/v1/functions", registrationBody(fn, "pull")));
    }
    await this.retrying(() =>
      this.t.call("POST", `/api/v1/workers/${segment(this.id)}/register`, {
        function_ids: [...this.fns.keys()],
        max_concurrent_jobs: this.concurrency,
        lease_ms: this.leaseMs,
      }),
    );
  }

  /** Repeats a call while the server is unavailable; other errors are thrown. */
  private async retrying<T>(f: () => Promise<T>): Promise<T | undefined> {
    let backoff = 250;
    for (;;) {
      try {
        return await f();
      } catch (e) {
        if (!(e instanceof IronflowError) || !transient(e.status)) throw e;
        if (this.stopping.signal.aborted) return undefined;
        this.log("warn", `server unavailable (${e.message}); retrying`);
        await delay(backoff, this.stopping.signal);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  private async run(): Promise<void> {
    this.installSignals();
    try {
      await this.register();
      this.markReady();
      this.heartbeat = setInterval(() => void this.sendHeartbeat(), Math.max(Math.floor(this.leaseMs / 3), 100));
      this.heartbeat.unref();
      let backoff = 250;
      while (!this.stopping.signal.aborted) {
        if (this.inFlight.size >= this.concurrency) {
          await new Promise<void>((r) => { this.slotFreed = r; });
          continue;
        }
        const available = Math.min(this.concurrency - this.inFlight.size, 100);
        let res;
        try {
          // Not aborted by drain/stop: the server may be leasing jobs to this poll right now, and an answer
          // dropped on the floor would hold them until their leases end. It ends within pollWaitMs.
          res = await this.t.request("GET", `/api/v1/workers/${segment(this.id)}/jobs?available=${available}&wait_ms=${this.pollWaitMs}`, {
            timeoutMs: this.pollWaitMs + 15000,
          });
        } catch (e) {
          if (this.stopping.signal.aborted) break;
          this.log("warn", `poll failed (${(e as Error).message}); retrying`);
          await delay(backoff, this.stopping.signal);
          backoff = Math.min(backoff * 2, 5000);
          continue;
        }
        if (res.status === 204) { backoff = 250; continue; }
        if (res.status === 404) { await this.register(); continue; }
        if (res.status === 200) {
          backoff = 250;
          const doc = JSON.parse(res.body.toString("utf8")) as { jobs?: Job[] };
          res.body.fill(0); // the raw bytes held secret values
          // Jobs that arrive after stop() gave up are left to come back when their leases end.
          if (!this.abandoned) for (const job of doc.jobs ?? []) this.track(this.execute(job as Job & { job_id?: string; lease_token?: string }));
          continue;
        }
        if (transient(res.status)) {
          await delay(backoff, this.stopping.signal);
          backoff = Math.min(backoff * 2, 5000);
          continue;
        }
        throw new IronflowError("unexpected", res.status, `poll answered HTTP ${res.status}`);
      }
      await Promise.race([Promise.all([...this.inFlight]), this.gaveUp]);
    } finally {
      this.finish();
    }
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => {
      this.inFlight.delete(p);
      const wake = this.slotFreed;
      this.slotFreed = null;
      wake?.();
    });
  }

  private async sendHeartbeat(): Promise<void> {
    if (this.inFlight.size === 0) return;
    try {
      const res = await this.t.request("POST", `/api/v1/workers/${segment(this.id)}/heartbeat`, { body: "{}", timeoutMs: 10000 });
      if (res.status === 404) await this.register().catch(() => undefined);
    } catch {
      // the next beat tries again; a lease outlives two missed beats
    }
  }

  private async execute(job: Job & { job_id?: string; lease_token?: string }): Promise<void> {
    if (!job.job_id || !job.lease_token) return;
    const { job_id: jobId } = job;
    const fn = this.fns.get(job.function_id ?? "");
    let result: JobResult;
    if (!fn) {
      result = { status: "failed", error: { message: `function "${job.function_id}" is not served by worker "${this.id}"`, retryable: true }, steps: [] };
    } else {
      result = await runJob(fn, job, { environment: this.t.conn.environment, logSink: this.sink, stores: (env) => this.stores(env) });
    }
    const body = serializeResult(result, job.lease_token);
    const report = (recorded: boolean) =>
      this.onJobReported?.({ jobId, runId: job.run_id ?? "", functionId: job.function_id ?? "", attempt: job.attempt ?? 1, status: result.status, recorded });
    const finished = Date.now();
    let backoff = 250;
    for (;;) {
      let status = 0;
      try {
        status = (await this.t.request("PUT", `/api/v1/workers/${segment(this.id)}/jobs/${segment(job.job_id)}`, { body, timeoutMs: 30000 })).status;
      } catch {
        status = 0;
      }
      if (status >= 200 && status < 300) return report(true);
      if (status === 409) {
        this.log("warn", `job ${job.job_id}: lease lost before the result was recorded (the server retries the run)`);
        return report(false);
      }
      if (!transient(status) || Date.now() + backoff > finished + this.leaseMs) {
        this.log("error", `job ${job.job_id}: result not recorded (HTTP ${status})`);
        return report(false);
      }
      await delay(backoff);
      backoff = Math.min(backoff * 2, 5000);
    }
  }

  private stores(environment: string) {
    let t = environment === this.t.conn.environment ? this.t : this.byEnvironment.get(environment);
    if (!t) {
      t = this.t.withEnvironment(environment);
      this.byEnvironment.set(environment, t);
    }
    return { config: new ConfigApi(t), kv: (bucket: string) => new KvBucketApi(t, bucket) };
  }
}

/** The result as the server takes it; an output JSON cannot carry (BigInt, cycles) fails the attempt instead. */
export function serializeResult(result: JobResult, leaseToken?: string): string {
  const doc: Record<string, unknown> = { ...result };
  if (leaseToken) doc.lease_token = leaseToken;
  try {
    return JSON.stringify(doc);
  } catch (e) {
    const failed: Record<string, unknown> = {
      status: "failed",
      error: { message: `the function's output cannot be sent as JSON (${(e as Error).message})`, retryable: false },
      steps: safeSteps(result.steps),
    };
    if (leaseToken) failed.lease_token = leaseToken;
    return JSON.stringify(failed);
  }
}

function safeSteps(steps: JobResult["steps"]): JobResult["steps"] {
  return steps.filter((s) => { try { JSON.stringify(s); return true; } catch { return false; } });
}
