// serve(): the push-mode endpoint. The server POSTs each attempt, signed; the handler checks the signature before
// reading anything of the body (unsigned, stale or forged → 401 and no function runs), runs the function and
// answers 200 with the result (also when the function failed: the result says so).
//
// The returned handler is both a node:http listener `(req, res)` (plain node:http, Express: mount it before any
// body parser, or leave the raw bytes in `req.rawBody`) and a Fetch API handler `(request) => Promise<Response>`.
import type { IncomingMessage, ServerResponse } from "node:http";

import { ConfigApi, KvBucketApi, createClient } from "./client.js";
import { type IronflowFunction, type Job, registrationBody, runJob } from "./function.js";
import { type LogSink } from "./logger.js";
import { verifySignature } from "./signature.js";
import { type ConnectionOptions, resolveConnection, Transport } from "./transport.js";
import { serializeResult } from "./worker.js";

export interface ServeOptions extends ConnectionOptions {
  functions: IronflowFunction<any>[];
  /** 64 hex characters. Default: IRONFLOW_SIGNING_KEY. */
  signingKey?: string;
  /** Largest request body accepted (default 16 MiB). */
  maxBodyBytes?: number;
  logSink?: LogSink;
}

interface Answer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export interface PushHandler {
  (req: IncomingMessage, res: ServerResponse): void;
  (request: Request): Promise<Response>;
}

const errorAnswer = (status: number, code: string, message: string, headers?: Record<string, string>): Answer => ({
  status,
  body: JSON.stringify({ error: { code, message } }),
  headers,
});

export function serve(options: ServeOptions): PushHandler {
  const signingKey = options.signingKey ?? process.env.IRONFLOW_SIGNING_KEY ?? "";
  if (!/^[0-9a-fA-F]{64}$/.test(signingKey.trim())) {
    throw new TypeError("serve() needs the server's signing key: 64 hex characters (signingKey or IRONFLOW_SIGNING_KEY)");
  }
  for (const f of options.functions) {
    if (f.config.mode === "pull") throw new TypeError(`function "${f.config.id}" is declared mode "pull": run it in a worker, not serve()`);
  }
  const fns = new Map(options.functions.map((f) => [f.config.id, f] as const));
  const maxBody = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const conn = resolveConnection(options);
  const canReachServer = Boolean(conn.apiKey);
  const transports = new Map<string, Transport>();
  const stores = (environment: string) => {
    if (!canReachServer) return null;
    let t = transports.get(environment);
    if (!t) {
      t = new Transport({ ...conn, environment });
      transports.set(environment, t);
    }
    const tt = t;
    return { config: new ConfigApi(tt), kv: (b: string) => new KvBucketApi(tt, b) };
  };

  async function handle(method: string, signature: string | null, body: Buffer): Promise<Answer> {
    if (method !== "POST") return errorAnswer(405, "invalid_argument", "use POST", { Allow: "POST" });
    if (!signature) return errorAnswer(401, "unauthenticated", "missing X-Ironflow-Signature header");
    if (!verifySignature(signature, body, signingKey)) {
      return errorAnswer(401, "unauthenticated", "invalid or expired X-Ironflow-Signature (check the signing key and the clock)");
    }
    let job: Job;
    try {
      job = JSON.parse(body.toString("utf8")) as Job;
    } catch {
      return errorAnswer(400, "invalid_argument", "body is not JSON");
    } finally {
      body.fill(0); // the raw bytes held secret values
    }
    if (!job || typeof job !== "object" || typeof job.function_id !== "string") {
      return errorAnswer(400, "invalid_argument", "body must be a JSON object with a function_id");
    }
    const fn = fns.get(job.function_id);
    if (!fn) return errorAnswer(404, "not_found", `function "${job.function_id}" is not served here`);
    const result = await runJob(fn, job, { environment: conn.environment, logSink: options.logSink, stores });
    return { status: 200, body: serializeResult(result) };
  }

  function nodeHandler(req: IncomingMessage & { rawBody?: Buffer }, res: ServerResponse): void {
    const reply = (a: Answer) => {
      res.writeHead(a.status, { "Content-Type": "application/json", ...a.headers });
      res.end(a.body);
    };
    const header = req.headers["x-ironflow-signature"];
    const signature = Array.isArray(header) ? header.join(",") : header ?? null;
    if (Buffer.isBuffer(req.rawBody)) {
      handle(req.method ?? "", signature, req.rawBody).then(reply, () => reply(errorAnswer(500, "internal", "push handler failed")));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > maxBody) { tooLarge = true; chunks.length = 0; return; }
      if (!tooLarge) chunks.push(c);
    });
    req.on("end", () => {
      if (tooLarge) return reply(errorAnswer(413, "payload_too_large", `body over ${maxBody} bytes`));
      const body = Buffer.concat(chunks);
      for (const c of chunks) c.fill(0);
      handle(req.method ?? "", signature, body).then(reply, () => reply(errorAnswer(500, "internal", "push handler failed")));
    });
  }

  async function fetchHandler(request: Request): Promise<Response> {
    const body = Buffer.from(await request.arrayBuffer());
    const a = body.length > maxBody
      ? errorAnswer(413, "payload_too_large", `body over ${maxBody} bytes`)
      : await handle(request.method, request.headers.get("x-ironflow-signature"), body);
    return new Response(a.body, { status: a.status, headers: { "Content-Type": "application/json", ...a.headers } });
  }

  function handler(a: IncomingMessage | Request, b?: ServerResponse): void | Promise<Response> {
    if (b !== undefined) return nodeHandler(a as IncomingMessage, b);
    return fetchHandler(a as Request);
  }
  return handler as PushHandler;
}

/**
 * Registers push functions with the URL the server should call (after the endpoint listens). Options default to
 * IRONFLOW_SERVER_URL, IRONFLOW_API_KEY, IRONFLOW_ENV, IRONFLOW_CA_FILE.
 */
export async function registerPushFunctions(options: ConnectionOptions & { functions: IronflowFunction<any>[]; url: string }): Promise<void> {
  const client = createClient(options);
  try {
    for (const fn of options.functions) {
      await client.transport.call("POST", "/api/v1/functions", registrationBody(fn, "push", options.url));
    }
  } finally {
    client.close();
  }
}
