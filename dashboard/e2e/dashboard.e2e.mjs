// End-to-end test of the dashboard: a real `ironflow serve` (embedded nats-server, master key) driven through
// Debian's Chromium by playwright-core. Every step asserts that no secret value appears in the page DOM, in any
// network response the page received, or in any console message. Screenshots of every page go to ARTIFACTS.
//
//   node dashboard/e2e/dashboard.e2e.mjs <path of build/bin/ironflow> [artifacts dir]
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = process.argv[2];
const ARTIFACTS = process.argv[3] || 'dashboard-e2e-artifacts';
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
if (!BIN || !existsSync(BIN)) throw new Error(`usage: dashboard.e2e.mjs <ironflow binary> [artifacts dir]; got ${BIN}`);
if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's chromium (scripts/install-test-deps.sh)`);
mkdirSync(ARTIFACTS, { recursive: true });

let failures = 0;
let passed = 0;
function check(cond, what) {
  if (cond) { passed++; console.log(`  ok   ${what}`); } else { failures++; console.log(`  FAIL ${what}`); }
}

const freePort = () => new Promise((resolve) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

const dataDir = mkdtempSync(join(tmpdir(), 'ironflow-e2e-'));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = spawn(BIN, ['serve', '--port', String(port), '--data-dir', join(dataDir, 'data')], {
  env: { PATH: process.env.PATH, HOME: dataDir, IRONFLOW_MASTER_KEY: randomBytes(32).toString('hex') },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let serverLog = '';
server.stdout.on('data', (d) => { serverLog += d; });
server.stderr.on('data', (d) => { serverLog += d; });

async function waitReady() {
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    try { if ((await fetch(`${base}/readyz`)).ok) return; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server not ready in 30 s:\n${serverLog}`);
}

let browser;
try {
  await waitReady();
  const key = readFileSync(join(dataDir, 'data', 'bootstrap_key'), 'utf8').trim();
  const api = async (method, path, body, env = 'default') => {
    const res = await fetch(`${base}${path}`, {
      method, headers: { Authorization: `Bearer ${key}`, 'X-Ironflow-Environment': env, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };

  // Fixtures through the API: a staging environment and a function that declares a secret nobody set.
  check((await api('POST', '/api/v1/environments', { name: 'staging' })).status === 201, 'fixture: environment staging');
  const fn = await api('POST', '/api/v1/functions', { id: 'payout', triggers: [{ event: 'payout.requested' }], secrets: ['STRIPE_KEY', 'MISSING_KEY'], mode: 'pull' });
  check(fn.status === 201, 'fixture: function payout declaring STRIPE_KEY and MISSING_KEY');

  const v1 = `sk_live_${randomBytes(12).toString('hex')}`;
  const v2 = `sk_live_${randomBytes(12).toString('hex')}`;
  const secretValues = [v1, v2];

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const consoleLines = [];
  const bodies = [];
  page.on('console', (m) => consoleLines.push(m.text()));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  page.on('response', async (r) => {
    try { bodies.push({ url: r.url(), text: await r.text() }); } catch { /* streaming bodies are read by the page */ }
  });

  async function noValueAnywhere(step) {
    const dom = await page.content();
    const inputs = await page.$$eval('input, textarea', (els) => els.map((e) => e.value).join('\n'));
    for (const v of secretValues) {
      check(!dom.includes(v) && !inputs.includes(v), `${step}: no secret value in the DOM or any field`);
      check(!bodies.some((b) => b.text.includes(v)), `${step}: no secret value in any network response`);
      check(!consoleLines.some((l) => l.includes(v)), `${step}: no secret value in the console`);
    }
  }
  const shot = (name) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  // 1. Sign in with the API key (kept in sessionStorage, never in the URL).
  await page.goto(base);
  await page.waitForSelector('#login-dialog[open]');
  await shot('01-sign-in');
  await page.fill('#login-key', key);
  await page.press('#login-key', 'Enter');
  await page.waitForSelector('#create-secret');
  check(!page.url().includes(key), 'sign-in: the key is not in the URL');
  check(await page.textContent('#env-badge') === 'default', 'sign-in: the environment badge shows "default"');

  // 2. Create a secret with a write-only field.
  await page.fill('#new-secret-name', 'STRIPE_KEY');
  await page.fill('#new-secret-value', v1);
  await page.fill('#new-secret-description', 'Stripe live key');
  await page.click('#create-secret button[type=submit]');
  const row = page.locator('tr[data-secret="STRIPE_KEY"]');
  await row.waitFor();
  const rev1 = Number(await row.locator('[data-field=revision]').textContent());
  check(rev1 > 0, `create: STRIPE_KEY listed with revision ${rev1}`);
  check(await page.inputValue('#new-secret-value') === '', 'create: the value field is cleared after submit');
  check((await page.getAttribute('#new-secret-value', 'type')) === 'password', 'create: the value field is a password field');
  await noValueAnywhere('after create');
  await shot('02-secrets');

  // 3. Rotate it: a higher revision, and the live activity entry without a reload.
  await row.getByRole('button', { name: 'Rotate' }).click();
  await page.fill('#rotate-STRIPE_KEY', v2);
  await page.press('#rotate-STRIPE_KEY', 'Enter');
  await page.waitForFunction((old) => {
    const cell = document.querySelector('tr[data-secret="STRIPE_KEY"] [data-field=revision]');
    return cell && Number(cell.textContent) > old;
  }, rev1);
  const rev2 = Number(await row.locator('[data-field=revision]').textContent());
  check(rev2 > rev1, `rotate: revision rose from ${rev1} to ${rev2}`);
  const navigationsBefore = await page.evaluate(() => performance.getEntriesByType('navigation').length);
  await page.click('#nav a[data-page=activity]');
  await page.locator('#activity-feed li[data-subject="system.secret.STRIPE_KEY.updated"]').first().waitFor();
  check(true, 'activity: system.secret.STRIPE_KEY.updated is in the feed');
  check(await page.evaluate(() => performance.getEntriesByType('navigation').length) === navigationsBefore, 'activity: reached without a page reload');
  await noValueAnywhere('after rotate');
  await shot('03-activity');

  // A rotation from elsewhere (the API) shows up live on the open Activity page.
  const v3 = `sk_live_${randomBytes(12).toString('hex')}`;
  secretValues.push(v3);
  check((await api('PUT', '/api/v1/secrets/DB_URL', { value: v3 })).status === 201, 'activity: DB_URL set through the API');
  await page.locator('#activity-feed li[data-subject="system.secret.DB_URL.created"]').first().waitFor();
  check(true, 'activity: a change made elsewhere appears live');

  // 4. A rotation that loses a race shows the conflict instead of overwriting.
  await page.click('#nav a[data-page=secrets]');
  await row.waitFor();
  await row.getByRole('button', { name: 'Rotate' }).click();
  const v4 = `sk_live_${randomBytes(12).toString('hex')}`;
  const v5 = `sk_live_${randomBytes(12).toString('hex')}`;
  secretValues.push(v4, v5);
  check((await api('PUT', '/api/v1/secrets/STRIPE_KEY', { value: v4 })).status === 200, 'conflict: someone else rotates first (API)');
  await page.fill('#rotate-STRIPE_KEY', v5);
  await page.press('#rotate-STRIPE_KEY', 'Enter');
  await page.waitForSelector('#rotate-conflict');
  check((await page.textContent('#rotate-conflict')).includes('changed since you loaded it'), 'conflict: the page shows the conflict and the new revision');
  await noValueAnywhere('after conflict');

  // 5. Another environment is another world.
  await page.selectOption('#env-select', 'staging');
  await page.waitForFunction(() => document.getElementById('env-badge').textContent === 'staging');
  // Wait for the staging page itself (its heading names the environment and its table or empty state is drawn).
  await page.waitForFunction(() => {
    const h1 = document.querySelector('#main h1');
    return h1 && h1.textContent.includes('environment staging') && document.querySelector('#secrets-table, #main .empty');
  });
  check(await page.locator('tr[data-secret="STRIPE_KEY"]').count() === 0, 'staging: STRIPE_KEY is not listed');
  check(await page.getAttribute('#topbar', 'data-env-kind') === 'staging', 'staging: the header changes colour');
  await shot('04-staging');
  await page.selectOption('#env-select', 'default');
  await page.waitForFunction(() => document.getElementById('env-badge').textContent === 'default');

  // 6. Functions: the missing secret is flagged.
  await page.click('#nav a[data-page=functions]');
  await page.waitForSelector('tr[data-function="payout"]');
  const missing = page.locator('tr[data-function="payout"] [data-secret="MISSING_KEY"] .badge');
  check((await missing.textContent()) === 'not set', 'functions: MISSING_KEY is flagged "not set"');
  check((await page.locator('tr[data-function="payout"] [data-secret="STRIPE_KEY"] .badge').textContent()) === 'set', 'functions: STRIPE_KEY shows "set"');
  await shot('05-functions');

  // 7. A run whose output echoed the secret is shown redacted. The test plays the pull worker over the API.
  check((await api('PUT', '/api/v1/secrets/MISSING_KEY', { value: `mk_${randomBytes(8).toString('hex')}` })).status === 201, 'run: MISSING_KEY set so the run can start');
  check((await api('POST', '/api/v1/workers/w1/register', { function_ids: ['payout'], max_concurrent_jobs: 1, lease_ms: 30000 })).status === 200, 'run: worker registered');
  const emitted = await api('POST', '/api/v1/events', { name: 'payout.requested', data: { amount: 4200 } });
  const runId = emitted.body.run_ids[0];
  const polled = await api('GET', '/api/v1/workers/w1/jobs?available=1&wait_ms=10000');
  const job = polled.body.jobs[0];
  const delivered = job.context.secrets.STRIPE_KEY;
  const done = await api('PUT', `/api/v1/workers/w1/jobs/${job.job_id}`, { lease_token: job.lease_token, status: 'completed', output: { charged: true, used_key: delivered }, steps: [] });
  check(done.status === 200, 'run: result recorded');
  await page.goto(`${base}/#/runs`);
  await page.locator(`tr[data-run="${runId}"]`).waitFor();
  await shot('06-runs');
  await page.click(`tr[data-run="${runId}"] a`);
  await page.waitForSelector('#run-output');
  const out = await page.textContent('#run-output');
  check(out.includes('[REDACTED:STRIPE_KEY]'), 'run: the output shows [REDACTED:STRIPE_KEY]');
  check(!out.includes(delivered), 'run: the output does not show the value');
  await noValueAnywhere('run detail');
  await shot('07-run-detail');

  // 8. Config and KV pages.
  await page.click('#nav a[data-page=config]');
  await page.fill('#new-config-name', 'flags');
  await page.press('#new-config-name', 'Enter');
  await page.waitForSelector('#config-editor');
  await page.fill('#config-editor', '[1, 2]');
  await page.click('#config-save');
  await page.waitForSelector('.notice.error');
  check((await page.textContent('.notice.error')).includes('must be a JSON object'), 'config: a non-object is refused with a clear message');
  await page.fill('#config-editor', '{"checkout_v2": true, "max_items": 25}');
  await page.click('#config-save');
  await page.waitForFunction(() => document.getElementById('toast').textContent.startsWith('Saved flags'));
  const stored = await api('GET', '/api/v1/config/flags');
  check(stored.body.data.checkout_v2 === true, 'config: the edited document is stored');
  await shot('08-config');
  await page.click('#nav a[data-page=kv]');
  await page.fill('#new-bucket-name', 'counters');
  await page.press('#new-bucket-name', 'Enter');
  await page.waitForSelector('#kv-key');
  await page.fill('#kv-key', 'payouts');
  await page.click('#kv-incr');
  await page.waitForSelector('#kv-shown-value');
  check((await page.textContent('#kv-shown-value')) === '1', 'kv: the counter reads 1 after one increment');
  await shot('09-kv');

  // 9. Delete the secret with a confirmation naming it and the environment.
  await page.click('#nav a[data-page=secrets]');
  await row.waitFor();
  await row.getByRole('button', { name: 'Delete' }).click();
  await page.waitForSelector('#confirm-dialog[open]');
  const question = await page.textContent('#confirm-text');
  check(question.includes('STRIPE_KEY') && question.includes('default'), 'delete: the confirmation names the secret and the environment');
  await page.click('#confirm-ok');
  await page.waitForFunction(() => !document.querySelector('tr[data-secret="STRIPE_KEY"]'));
  check((await api('GET', '/api/v1/secrets/STRIPE_KEY')).status === 404, 'delete: STRIPE_KEY is gone');
  await noValueAnywhere('after delete');

  // 9b. API keys: a worker key needs allow-lists; one created with them shows them, and the key is shown once.
  await page.click('#nav a[data-page=apikeys]');
  await page.waitForSelector('#create-apikey');
  await page.fill('#new-key-name', 'billing-worker');
  await page.selectOption('#new-key-role', 'worker');
  await page.click('#create-apikey button[type=submit]');
  await page.waitForSelector('#apikeys-message .notice.error');
  check((await page.textContent('#apikeys-message')).includes('allow-lists'), 'apikeys: a worker key without allow-lists is refused, saying why');
  await page.fill('#new-key-functions', 'payout');
  await page.fill('#new-key-secrets', 'STRIPE_*');
  await page.click('#create-apikey button[type=submit]');
  await page.waitForSelector('#new-key-value');
  const shownKey = (await page.textContent('#new-key-value')).trim();
  check(/^ifkey_[0-9a-f]{32}$/.test(shownKey), 'apikeys: the new key is shown once');
  const keyRow = page.locator('#apikeys-table tr', { hasText: 'billing-worker' });
  await keyRow.waitFor();
  check((await keyRow.locator('td[data-list=secrets]').textContent()).includes('STRIPE_*'), 'apikeys: the row shows the secrets allow-list');
  check((await keyRow.locator('td[data-list=functions]').textContent()).includes('payout'), 'apikeys: the row shows the functions allow-list');
  await shot('09b-apikeys');
  await page.click('#nav a[data-page=secrets]');

  // 10. A narrow window still works.
  await page.setViewportSize({ width: 420, height: 800 });
  await shot('10-narrow');
  check(await page.isVisible('#env-select'), 'narrow: the environment switcher is still visible');

  check(!consoleLines.some((l) => /Content Security Policy/i.test(l)), `no Content-Security-Policy violations (${consoleLines.filter((l) => /Content Security Policy/i.test(l)).join('; ')})`);
  check(!consoleLines.some((l) => l.startsWith('pageerror')), `no uncaught page errors (${consoleLines.filter((l) => l.startsWith('pageerror')).join('; ')})`);
  check(!serverLog.includes(v1) && !serverLog.includes(v2), 'the server log holds no secret value');
} catch (e) {
  failures++;
  console.log(`  FAIL ${e.stack || e}`);
} finally {
  if (browser) await browser.close();
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(`dashboard e2e: ${passed} checks passed, ${failures} failed; screenshots in ${ARTIFACTS}`);
process.exit(failures === 0 ? 0 : 1);
