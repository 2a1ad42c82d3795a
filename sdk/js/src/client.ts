// Client: the management API (secrets metadata, environments, config, KV, events, runs) for one environment.
// Secret values go in (set) and never come out: every secrets call returns metadata only.
import type { IncomingMessage } from "node:http";

import { IronflowError } from "./errors.js";
import { type ConnectionOptions, resolveConnection, segment, Transport } from "./transport.js";

export interface SecretMeta {
  name: string;
  environment: string;
  description: string;
  revision: number;
  encrypted: boolean;
  key_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface SecretVersion {
  revision: number;
  created_at: string;
  deleted: boolean;
  description: string | null;
  encrypted: boolean;
  key_id: string | null;
  state: string | null;
  actor: { type: string; id: string; name: string } | null;
}

export interface ConfigDocument {
  name: string;
  data: Record<string, unknown>;
  revision: number;
  updated_at: string;
}

export type ConfigChange =
  | { type: "config_update"; name: string; data: Record<string, unknown>; revision: number; updated_at: string }
  | { type: "config_delete"; name: string; revision: number };

export interface KvEntry {
  key: string;
  value: Buffer;
  revision: number;
  created_at: string;
}

export interface KvChange {
  type: "kv_update";
  key: string;
  operation: "put" | "delete";
  revision: number;
  value: Buffer | null;
}

export interface Run {
  id: string;
  function_id: string;
  environment: string;
  event_id: string;
  event: { id: string; name: string; data: unknown; timestamp: string };
  status: "queued" | "running" | "completed" | "failed";
  attempt: number;
  output: unknown;
  error: string | null;
  steps: Array<{ id: string; output: unknown; status: string }>;
  created_at: string;
  updated_at: string;
}

export interface WriteOptions {
  /** Compare-and-set: the write only lands if the current revision is this one (else 412). */
  ifRevision?: number;
}

function ifMatch(o?: WriteOptions): Record<string, string> {
  return o?.ifRevision !== undefined ? { "If-Match": String(o.ifRevision) } : {};
}

/** Reads `data: <json>` frames of a server-sent event stream until it ends or the signal aborts. */
async function* sseFrames<T>(open: Promise<IncomingMessage>, signal?: AbortSignal): AsyncGenerator<T> {
  const res = await open;
  let buffer = "";
  try {
    for await (const chunk of res) {
      buffer += (chunk as Buffer).toString("utf8");
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = frame
          .split("\n")
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).trimStart())
          .join("\n");
        if (data) yield JSON.parse(data) as T;
      }
      if (signal?.aborted) return;
    }
  } finally {
    res.destroy();
  }
}

export class SecretsApi {
  constructor(private readonly t: Transport) {}
  async list(): Promise<SecretMeta[]> {
    return (await this.t.json<{ secrets: SecretMeta[] }>("GET", "/api/v1/secrets")).secrets;
  }
  /** Metadata of one secret, or null when it does not exist. */
  async get(name: string): Promise<SecretMeta | null> {
    try {
      return await this.t.json<SecretMeta>("GET", `/api/v1/secrets/${segment(name)}`);
    } catch (e) {
      if (e instanceof IronflowError && e.status === 404) return null;
      throw e;
    }
  }
  /** Creates or rotates a secret; returns its new metadata. */
  async set(name: string, value: string, o: WriteOptions & { description?: string } = {}): Promise<SecretMeta> {
    const body: Record<string, unknown> = { value };
    if (o.description !== undefined) body.description = o.description;
    return this.t.json<SecretMeta>("PUT", `/api/v1/secrets/${segment(name)}`, body, { headers: ifMatch(o) });
  }
  async delete(name: string, o: WriteOptions = {}): Promise<void> {
    await this.t.call("DELETE", `/api/v1/secrets/${segment(name)}`, undefined, { headers: ifMatch(o) });
  }
  async versions(name: string): Promise<SecretVersion[]> {
    return (await this.t.json<{ versions: SecretVersion[] }>("GET", `/api/v1/secrets/${segment(name)}/versions`)).versions;
  }
  /** Writes revision `revision`'s value again as a new revision. */
  async rollback(name: string, revision: number, o: WriteOptions = {}): Promise<SecretMeta> {
    return this.t.json<SecretMeta>("POST", `/api/v1/secrets/${segment(name)}/rollback`, { revision }, { headers: ifMatch(o) });
  }
}

export class EnvironmentsApi {
  constructor(private readonly t: Transport) {}
  async list(): Promise<Array<{ name: string; created_at: string }>> {
    return (await this.t.json<{ environments: Array<{ name: string; created_at: string }> }>("GET", "/api/v1/environments", undefined, { environment: null })).environments;
  }
  async create(name: string): Promise<{ name: string; created_at: string }> {
    return this.t.json("POST", "/api/v1/environments", { name }, { environment: null });
  }
  /** `force` also deletes the environment's secrets, config and KV buckets. */
  async delete(name: string, o: { force?: boolean } = {}): Promise<void> {
    await this.t.call("DELETE", `/api/v1/environments/${segment(name)}${o.force ? "?force=true" : ""}`, undefined, { environment: null });
  }
}

export class ConfigApi {
  constructor(private readonly t: Transport) {}
  /** The document, or null when it does not exist. */
  async get(name: string): Promise<ConfigDocument | null> {
    try {
      return await this.t.json<ConfigDocument>("GET", `/api/v1/config/${segment(name)}`);
    } catch (e) {
      if (e instanceof IronflowError && e.status === 404 && e.code === "not_found") return null;
      throw e;
    }
  }
  /** Replaces (or creates) a document; returns its revision. */
  async set(name: string, data: Record<string, unknown>, o: WriteOptions = {}): Promise<number> {
    return (await this.t.json<{ revision: number }>("PUT", `/api/v1/config/${segment(name)}`, { data }, { headers: ifMatch(o) })).revision;
  }
  /** Shallow merge (a null field removes it); returns the whole document. */
  async patch(name: string, data: Record<string, unknown>, o: WriteOptions = {}): Promise<ConfigDocument> {
    return this.t.json<ConfigDocument>("PATCH", `/api/v1/config/${segment(name)}`, { data }, { headers: ifMatch(o) });
  }
  async delete(name: string, o: WriteOptions = {}): Promise<void> {
    await this.t.call("DELETE", `/api/v1/config/${segment(name)}`, undefined, { headers: ifMatch(o) });
  }
  async list(): Promise<string[]> {
    return (await this.t.json<{ configs: Array<{ name: string }> }>("GET", "/api/v1/config")).configs.map((c) => c.name);
  }
  /** The current document (if any), then every change, until the loop breaks or `signal` aborts. */
  watch(name: string, o: { signal?: AbortSignal } = {}): AsyncGenerator<ConfigChange> {
    return sseFrames<ConfigChange>(this.t.openStream(`/api/v1/config/${segment(name)}/watch`, o.signal), o.signal);
  }
}

export class KvBucketApi {
  private readonly base: string;
  constructor(private readonly t: Transport, readonly name: string) {
    this.base = `/api/v1/kv/buckets/${segment(name)}`;
  }
  /** The entry, or null when the key does not exist. */
  async get(key: string): Promise<KvEntry | null> {
    try {
      const e = await this.t.json<{ key: string; value: string; revision: number; created_at: string }>("GET", `${this.base}/keys/${segment(key)}`);
      return { ...e, value: Buffer.from(e.value, "base64") };
    } catch (e) {
      if (e instanceof IronflowError && e.status === 404 && e.message.startsWith("key ")) return null;
      throw e;
    }
  }
  /** Stores the value (raw bytes); returns the new revision. */
  async put(key: string, value: string | Buffer, o: WriteOptions = {}): Promise<number> {
    const res = await this.t.call("PUT", `${this.base}/keys/${segment(key)}`, undefined, {
      body: value,
      headers: { "Content-Type": "application/octet-stream", ...ifMatch(o) },
    });
    return (JSON.parse(res.body.toString("utf8")) as { revision: number }).revision;
  }
  /** Stores only if the key does not exist; false when it does. */
  async create(key: string, value: string | Buffer): Promise<boolean> {
    try {
      await this.t.call("PUT", `${this.base}/keys/${segment(key)}`, undefined, {
        body: value,
        headers: { "Content-Type": "application/octet-stream", "If-None-Match": "*" },
      });
      return true;
    } catch (e) {
      if (e instanceof IronflowError && e.status === 412) return false;
      throw e;
    }
  }
  async delete(key: string, o: WriteOptions & { purge?: boolean } = {}): Promise<void> {
    await this.t.call("DELETE", `${this.base}/keys/${segment(key)}${o.purge ? "?purge=true" : ""}`, undefined, { headers: ifMatch(o) });
  }
  async keys(filter = ">"): Promise<string[]> {
    return (await this.t.json<{ keys: string[] }>("GET", `${this.base}/keys?filter=${segment(filter)}`)).keys;
  }
  /** Adds `by` (default 1) to a decimal counter; a missing key counts from 0. Returns the new value. */
  async increment(key: string, by = 1): Promise<number> {
    return (await this.t.json<{ value: number }>("POST", `${this.base}/keys/${segment(key)}/increment`, { by })).value;
  }
  /** Current values, then every change of keys matching `pattern`, until the loop breaks or `signal` aborts. */
  watch(pattern = ">", o: { signal?: AbortSignal } = {}): AsyncGenerator<KvChange> {
    const frames = sseFrames<Omit<KvChange, "value"> & { value: string | null }>(
      this.t.openStream(`${this.base}/watch?key=${segment(pattern)}`, o.signal),
      o.signal,
    );
    return (async function* () {
      for await (const f of frames) yield { ...f, value: f.value === null ? null : Buffer.from(f.value, "base64") };
    })();
  }
}

export class KvApi {
  constructor(private readonly t: Transport) {}
  bucket(name: string): KvBucketApi {
    return new KvBucketApi(this.t, name);
  }
  async createBucket(name: string, o: { description?: string; ttl_seconds?: number; history?: number; max_value_size?: number; replicas?: number } = {}): Promise<Record<string, unknown>> {
    return this.t.json("POST", "/api/v1/kv/buckets", { name, ...o });
  }
  async listBuckets(): Promise<Array<Record<string, unknown>>> {
    return (await this.t.json<{ buckets: Array<Record<string, unknown>> }>("GET", "/api/v1/kv/buckets")).buckets;
  }
  async deleteBucket(name: string): Promise<void> {
    await this.t.call("DELETE", `/api/v1/kv/buckets/${segment(name)}`);
  }
}

export class EventsApi {
  constructor(private readonly t: Transport) {}
  /** Publishes an event; returns its id and the runs it started. Retried safely (Idempotency-Key). */
  async emit(name: string, data: unknown = {}): Promise<{ eventId: string; runIds: string[] }> {
    const r = await this.t.json<{ event_id: string; run_ids: string[] }>("POST", "/api/v1/events", { name, data });
    return { eventId: r.event_id, runIds: r.run_ids };
  }
}

export class RunsApi {
  constructor(private readonly t: Transport) {}
  async get(id: string): Promise<Run> {
    return this.t.json<Run>("GET", `/api/v1/runs/${segment(id)}`);
  }
  async list(o: { functionId?: string; status?: Run["status"]; limit?: number } = {}): Promise<Run[]> {
    const q = new URLSearchParams();
    if (o.functionId) q.set("function_id", o.functionId);
    if (o.status) q.set("status", o.status);
    if (o.limit) q.set("limit", String(o.limit));
    const qs = q.toString();
    return (await this.t.json<{ runs: Run[] }>("GET", `/api/v1/runs${qs ? `?${qs}` : ""}`)).runs;
  }
}

export class Client {
  readonly secrets: SecretsApi;
  readonly environments: EnvironmentsApi;
  readonly config: ConfigApi;
  readonly kv: KvApi;
  readonly events: EventsApi;
  readonly runs: RunsApi;
  /** @internal */
  readonly transport: Transport;

  constructor(transport: Transport) {
    this.transport = transport;
    this.secrets = new SecretsApi(transport);
    this.environments = new EnvironmentsApi(transport);
    this.config = new ConfigApi(transport);
    this.kv = new KvApi(transport);
    this.events = new EventsApi(transport);
    this.runs = new RunsApi(transport);
  }

  get environment(): string {
    return this.transport.conn.environment;
  }

  /** The same server and key in another environment. */
  withEnvironment(environment: string): Client {
    return new Client(this.transport.withEnvironment(environment));
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.transport.close();
  }
}

/** A management client; options default to IRONFLOW_SERVER_URL, IRONFLOW_API_KEY, IRONFLOW_ENV, IRONFLOW_CA_FILE. */
export function createClient(options: ConnectionOptions = {}): Client {
  return new Client(new Transport(resolveConnection(options)));
}
