// Entry point: sign-in, the environment switcher, the live event feed and hash routing between pages.
import { Api, ApiError } from './api.js';
import { EventHub } from './events.js';
import { h, errorBox } from './ui.js';
import * as secrets from './secrets.js';
import * as functions from './functions.js';
import * as runs from './runs.js';
import * as config from './config.js';
import * as kv from './kv.js';
import * as activity from './activity.js';
import * as apikeys from './apikeys.js';

const pages = { secrets, functions, runs, config, kv, activity, apikeys };
const api = new Api();
const hub = new EventHub(api);
let status = null;
let cleanup = null;

function envKind(name) {
  if (/^prod/.test(name)) return 'production';
  if (/^(stag|stage|preprod|uat)/.test(name)) return 'staging';
  if (name === 'default') return 'default';
  return 'other';
}

function showEnv() {
  const bar = document.getElementById('topbar');
  bar.dataset.envKind = envKind(api.env);
  document.getElementById('env-badge').textContent = api.env;
  document.title = `Ironflow · ${api.env}`;
}

function showBanner() {
  const b = document.getElementById('banner');
  if (status && status.encryption && status.encryption.enabled === false) {
    b.textContent = 'No master key: secret values are stored UNENCRYPTED in NATS (dev mode). Set IRONFLOW_MASTER_KEY before storing real secrets.';
    b.hidden = false;
  } else {
    b.hidden = true;
  }
}

async function signIn(message) {
  const d = document.getElementById('login-dialog');
  const input = document.getElementById('login-key');
  const err = document.getElementById('login-error');
  err.hidden = !message;
  err.textContent = message || '';
  input.value = '';
  if (!d.open) d.showModal();
  input.focus();
  await new Promise((resolve) => {
    document.getElementById('login-form').addEventListener('submit', (e) => {
      api.setKey(input.value.trim());
      input.value = '';
      resolve();
    }, { once: true });
  });
}

// Loads /api/v1/status, asking for a key until one works (or none is needed under --dev).
async function connect() {
  for (;;) {
    try {
      status = await api.call('GET', '/api/v1/status', { withEnv: false }).then((r) => r.data);
      document.getElementById('logout').hidden = !status.authentication;
      return;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        await signIn(api.key ? `That key was refused: ${e.message}` : '');
        continue;
      }
      document.getElementById('main').replaceChildren(errorBox(e));
      throw e;
    }
  }
}

async function loadEnvironments() {
  const select = document.getElementById('env-select');
  const data = await api.call('GET', '/api/v1/environments', { withEnv: false }).then((r) => r.data);
  const names = (data.environments || []).map((e) => e.name);
  if (!names.includes(api.env)) api.setEnv(names.includes('default') ? 'default' : names[0] || 'default');
  select.replaceChildren(...names.map((n) => h('option', { value: n, selected: n === api.env }, n)));
}

function route() {
  const hash = location.hash.replace(/^#\/?/, '') || 'secrets';
  const [name, ...rest] = hash.split('/');
  const page = pages[name] || secrets;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.page === (pages[name] ? name : 'secrets')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (cleanup) cleanup();
  cleanup = null;
  const main = document.getElementById('main');
  main.replaceChildren(h('p.muted', {}, 'Loading…'));
  const ctx = { api, hub, status, params: rest.map(decodeURIComponent), navigate: (to) => { location.hash = to; } };
  Promise.resolve(page.render(main, ctx)).then((c) => { cleanup = typeof c === 'function' ? c : null; }).catch((e) => {
    if (e instanceof ApiError && e.status === 401) {
      api.setKey('');
      start();
      return;
    }
    main.replaceChildren(errorBox(e));
  });
}

async function start() {
  await connect();
  showBanner();
  await loadEnvironments();
  showEnv();
  hub.start();
  route();
}

document.getElementById('env-select').addEventListener('change', (e) => {
  api.setEnv(e.target.value);
  showEnv();
  hub.start();
  route();
});
document.getElementById('logout').addEventListener('click', () => {
  api.setKey('');
  hub.stop();
  start();
});
window.addEventListener('hashchange', route);
start().catch(() => { /* the error is on the page */ });
