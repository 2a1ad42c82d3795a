// `npm pack` builds a tarball that installs into an empty project (offline: no runtime dependencies) and runs a
// function from it, with its type declarations usable from TypeScript.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const SDK = join(dirname(fileURLToPath(import.meta.url)), "..");

test("PackedTarballInstallsIntoAnEmptyProjectAndRunsAFunction", () => {
  const dir = mkdtempSync(join(tmpdir(), "ironflow-js-pack-"));
  try {
    execFileSync("npm", ["pack", "--pack-destination", dir, "--loglevel=error"], { cwd: SDK, stdio: "pipe" });
    const tgz = readdirSync(dir).find((f) => f.endsWith(".tgz"));
    assert.ok(tgz, "npm pack wrote a tarball");
    const app = join(dir, "app");
    execFileSync("mkdir", ["-p", app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", join(dir, tgz)], { cwd: app, stdio: "pipe" });
    writeFileSync(join(app, "main.ts"), `
import { createFunction, serve, signPayload, type FunctionContext } from "ironflow-cpp-sdk";
const key = "ab".repeat(32);
const hello = createFunction({ id: "hello", triggers: [{ event: "hello" }], secrets: ["GREETING_KEY"] },
  async ({ secrets, step }: FunctionContext) => step.run("greet", () => ({ keyLength: secrets.get("GREETING_KEY").length })));
const handler = serve({ functions: [hello], signingKey: key, apiKey: "" });
const body = JSON.stringify({ function_id: "hello", run_id: "run_1", attempt: 1, secrets: { GREETING_KEY: "hi-there" }, steps: [] });
const res = await handler(new Request("http://app/", { method: "POST", body, headers: { "X-Ironflow-Signature": signPayload(body, key) } }));
console.log(JSON.stringify({ status: res.status, body: await res.json() }));
`);
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, types: ["node"], typeRoots: [join(SDK, "node_modules", "@types")], skipLibCheck: false, outDir: "out" },
      files: ["main.ts"],
    }));
    execFileSync(process.execPath, [join(SDK, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: app, stdio: "pipe" });
    const out = execFileSync(process.execPath, [join(app, "out", "main.js")], { cwd: app, encoding: "utf8" });
    assert.deepEqual(JSON.parse(out), { status: 200, body: { status: "completed", output: { keyLength: 8 }, steps: [{ id: "greet", output: { keyLength: 8 } }] } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
