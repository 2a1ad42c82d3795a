// Test harness: a real `ironflow serve` (embedded nats-server, master key) in a temp dir, its CLI, and helpers.
// The binary comes from IRONFLOW_BIN (CTest passes build/bin/ironflow).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const BIN = process.env.IRONFLOW_BIN;
if (!BIN) throw new Error("set IRONFLOW_BIN to the ironflow binary (build/bin/ironflow)");

export const randomHex = (n) => randomBytes(n).toString("hex");

/** Waits for `cond()` to be truthy, polling every 50 ms up to `ms`; returns its value. */
export async function eventually(cond, ms = 20000, what = "condition") {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts a server; `extraArgs` go to `ironflow serve`, `env` adds variables. */
export async function startServer({ extraArgs = [], env = {}, scheme = "http" } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "ironflow-js-"));
  const signingKey = randomHex(32);
  const child = spawn(BIN, ["serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", join(dir, "data"), ...extraArgs], {
    env: { PATH: process.env.PATH, HOME: dir, IRONFLOW_MASTER_KEY: randomHex(32), IRONFLOW_SIGNING_KEY: signingKey, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout.on("data", (d) => { log += d; });
  child.stderr.on("data", (d) => { log += d; });
  const exited = new Promise((r) => child.on("exit", r));
  const port = await eventually(() => {
    if (child.exitCode !== null) throw new Error(`server exited:\n${log}`);
    const m = /listening on https?:\/\/[^:]+:(\d+)/.exec(log);
    return m ? Number(m[1]) : 0;
  }, 30000, "the server to listen");
  const url = `${scheme}://127.0.0.1:${port}`;
  const key = await eventually(() => {
    try { return readFileSync(join(dir, "data", "bootstrap_key"), "utf8").trim(); } catch { return ""; }
  }, 30000, "the bootstrap key");
  return {
    url, key, dir, signingKey,
    log: () => log,
    /** Runs the CLI against this server; `input` goes to stdin. */
    cli(args, { input, environ = {} } = {}) {
      const r = spawnSync(BIN, args, {
        input,
        env: { PATH: process.env.PATH, HOME: dir, IRONFLOW_SERVER_URL: url, IRONFLOW_API_KEY: key, ...environ },
        encoding: "utf8",
      });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Spawns a node program; resolves once a stdout line matches `ready`. */
export async function startProgram(file, env, ready) {
  const child = spawn(process.execPath, [file], { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => { out += d; });
  child.stderr.on("data", (d) => { out += d; });
  const exited = new Promise((r) => child.on("exit", r));
  const match = await eventually(() => {
    if (child.exitCode !== null) throw new Error(`${file} exited:\n${out}`);
    return ready.exec(out);
  }, 30000, `${file} to start`);
  return {
    match,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Writes a throwaway file (TLS material) and returns its path. */
export function writeTemp(dir, name, content) {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}
