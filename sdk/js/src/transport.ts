// Transport: one connection setting (server URL, API key, environment, CA file) and its requests to the Ironflow
// server over node:http / node:https, with keep-alive sockets.
//
// Contract: request() resolves with any HTTP answer (the caller decides what is an error) and rejects only when
// there is no answer (status 0). call() turns non-2xx answers into IronflowError. Writes on the server's keyed
// routes carry one Idempotency-Key per logical request and are retried on 503, 429 or no answer (8 attempts,
// 250 ms doubling to 4 s plus jitter, Retry-After honoured up to 10 s); everything else is sent once.
import * as http from "node:http";
import * as https from "node:https";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";

import { IronflowError } from "./errors.js";

export interface ConnectionOptions {
  /** Default: IRONFLOW_SERVER_URL, else http://localhost:9123. */
  serverUrl?: string;
  /** Default: IRONFLOW_API_KEY. */
  apiKey?: string;
  /** Default: IRONFLOW_ENV, else "default". */
  environment?: string;
  /** PEM file of the CA that signed an https server's certificate. Default: IRONFLOW_CA_FILE, else the system store. */
  caFile?: string;
  /** Per-request timeout in ms (default 30000). */
  timeoutMs?: number;
}

export interface ResolvedConnection {
  serverUrl: string;
  apiKey: string;
  environment: string;
  caFile: string;
  timeoutMs: number;
}

/** Fills options from the environment variables the CLI reads. */
export function resolveConnection(o: ConnectionOptions = {}): ResolvedConnection {
  const env = process.env;
  return {
    serverUrl: (o.serverUrl ?? env.IRONFLOW_SERVER_URL ?? "http://localhost:9123").replace(/\/+$/, ""),
    apiKey: o.apiKey ?? env.IRONFLOW_API_KEY ?? "",
    environment: o.environment ?? env.IRONFLOW_ENV ?? "default",
    caFile: o.caFile ?? env.IRONFLOW_CA_FILE ?? "",
    timeoutMs: o.timeoutMs ?? 30000,
  };
}

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface RequestOptions {
  body?: string | Buffer;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Environment header for this request; null: none (routes outside environments). */
  environment?: string | null;
  signal?: AbortSignal;
}

const keyedRoutes: Array<[string, RegExp]> = [
  ["POST", /^\/api\/v1\/events$/],
  ["POST", /^\/api\/v1\/secrets$/],
  ["PUT|PATCH|DELETE", /^\/api\/v1\/secrets\/[^/]+$/],
  ["POST", /^\/api\/v1\/secrets\/[^/]+\/rollback$/],
  ["PUT|PATCH|DELETE", /^\/api\/v1\/config\/[^/]+$/],
  ["PUT|DELETE", /^\/api\/v1\/kv\/buckets\/[^/]+\/keys\/[^/]+$/],
  ["POST", /^\/api\/v1\/kv\/buckets\/[^/]+\/keys\/[^/]+\/increment$/],
];

/** True for the writes the server replays under an Idempotency-Key (the same table as the server's router). */
export function isKeyedRoute(method: string, path: string): boolean {
  const p = path.split("?")[0] ?? "";
  return keyedRoutes.some(([methods, re]) => methods.split("|").includes(method) && re.test(p));
}

/** Percent-encodes one path segment (everything outside A-Za-z0-9-_.~). */
export function segment(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export class Transport {
  readonly conn: ResolvedConnection;
  private readonly url: URL;
  private readonly agent: http.Agent;
  // Event streams hold their connection for as long as they are read: never pooled.
  private readonly streamAgent: http.Agent;

  constructor(conn: ResolvedConnection) {
    this.conn = conn;
    this.url = new URL(conn.serverUrl);
    if (this.url.protocol !== "http:" && this.url.protocol !== "https:") {
      throw new IronflowError("invalid_argument", 0, `server URL must be http:// or https://, got "${conn.serverUrl}"`);
    }
    if (this.url.protocol === "https:") {
      const ca = conn.caFile ? readFileSync(conn.caFile) : undefined;
      this.agent = new https.Agent({ keepAlive: true, ca, minVersion: "TLSv1.2" });
      this.streamAgent = new https.Agent({ keepAlive: false, ca, minVersion: "TLSv1.2" });
    } else {
      this.agent = new http.Agent({ keepAlive: true });
      this.streamAgent = new http.Agent({ keepAlive: false });
    }
  }

  /** The same server and key, another environment. */
  withEnvironment(environment: string): Transport {
    return new Transport({ ...this.conn, environment });
  }

  close(): void {
    this.agent.destroy();
    this.streamAgent.destroy();
  }

  private send(method: string, path: string, headers: Record<string, string>, agent: http.Agent, signal: AbortSignal | undefined,
               onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
    const mod = this.url.protocol === "https:" ? https : http;
    return mod.request(
      {
        protocol: this.url.protocol,
        hostname: this.url.hostname.replace(/^\[|\]$/g, ""),
        port: this.url.port || (this.url.protocol === "https:" ? 443 : 80),
        method,
        path,
        headers,
        agent,
        signal,
      },
      onResponse,
    );
  }

  /** One HTTP exchange. Rejects with IronflowError(status 0, "unavailable") when there is no answer. */
  request(method: string, path: string, o: RequestOptions = {}): Promise<HttpAnswer> {
    const headers: Record<string, string> = { Accept: "application/json", ...o.headers };
    const env = o.environment === undefined ? this.conn.environment : o.environment;
    if (env !== null) headers["X-Ironflow-Environment"] = env;
    if (this.conn.apiKey) headers.Authorization = `Bearer ${this.conn.apiKey}`;
    if (o.body !== undefined) {
      headers["Content-Type"] ??= "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(o.body));
    }
    return new Promise((resolve, reject) => {
      const req = this.send(method, path, headers, this.agent, o.signal, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", (e) => reject(noAnswer(method, path, e)));
      });
      req.setTimeout(o.timeoutMs ?? this.conn.timeoutMs, () => req.destroy(new Error("timed out")));
      req.on("error", (e) => reject(noAnswer(method, path, e)));
      if (o.body !== undefined) req.write(o.body);
      req.end();
    });
  }

  /** Opens a streaming GET (server-sent events); the caller reads and destroys the response. */
  openStream(path: string, signal?: AbortSignal): Promise<http.IncomingMessage> {
    const headers: Record<string, string> = {
      Accept: "text/event-stream",
      "X-Ironflow-Environment": this.conn.environment,
    };
    if (this.conn.apiKey) headers.Authorization = `Bearer ${this.conn.apiKey}`;
    return new Promise((resolve, reject) => {
      const req = this.send("GET", path, headers, this.streamAgent, signal, (res) => {
        if (res.statusCode === 200) return resolve(res);
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => reject(toError({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) })));
      });
      req.on("error", (e) => reject(noAnswer("GET", path, e)));
      req.end();
    });
  }

  /**
   * A JSON API call: body serialized once; non-2xx → IronflowError. Keyed writes get an Idempotency-Key and are
   * retried while the server is unavailable; the same key and bytes go out on every attempt.
   */
  async call(method: string, path: string, body?: unknown, o: RequestOptions = {}): Promise<HttpAnswer> {
    const req: RequestOptions = { ...o, headers: { ...o.headers } };
    if (body !== undefined && o.body === undefined) req.body = JSON.stringify(body);
    if (!isKeyedRoute(method, path)) {
      const res = await this.request(method, path, req);
      if (res.status < 200 || res.status > 299) throw toError(res);
      return res;
    }
    req.headers!["Idempotency-Key"] = randomBytes(16).toString("hex");
    let backoff = 250;
    for (let attempt = 1; ; ++attempt) {
      let res: HttpAnswer | undefined;
      let failure: unknown;
      try {
        res = await this.request(method, path, req);
      } catch (e) {
        failure = e;
      }
      if (res && res.status >= 200 && res.status <= 299) return res;
      const retryable = !res || res.status === 503 || res.status === 429;
      if (!retryable || attempt >= 8) throw res ? toError(res) : failure;
      let wait = backoff * (1 + Math.random() * 0.25);
      const after = res ? Number(res.headers["retry-after"]) : NaN;
      if (Number.isFinite(after) && after >= 0) wait = Math.min(after, 10) * 1000;
      backoff = Math.min(backoff * 2, 4000);
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** call() and parse the JSON answer (undefined for 204). */
  async json<T = unknown>(method: string, path: string, body?: unknown, o: RequestOptions = {}): Promise<T> {
    const res = await this.call(method, path, body, o);
    if (res.status === 204 || res.body.length === 0) return undefined as T;
    return JSON.parse(res.body.toString("utf8")) as T;
  }
}

function noAnswer(method: string, path: string, e: Error): IronflowError {
  return new IronflowError("unavailable", 0, `${method} ${path.split("?")[0]}: no answer from the server (${e.message})`);
}

/** The server's {"error":{"code","message"}} as an IronflowError. */
export function toError(res: HttpAnswer): IronflowError {
  try {
    const doc = JSON.parse(res.body.toString("utf8")) as { error?: { code?: string; message?: string } };
    if (doc.error && typeof doc.error.message === "string") {
      return new IronflowError(doc.error.code ?? "unknown", res.status, doc.error.message);
    }
  } catch {
    // not JSON: fall through
  }
  return new IronflowError("unknown", res.status, `HTTP ${res.status}`);
}
