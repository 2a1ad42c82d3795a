// API keys (admin keys only): who can reach what. Lists keys with their role, environment binding and allow-lists
// (the function ids and secret names a worker or manager key may register, serve and receive); creates keys
// (shown once) and revokes them. Keys from before allow-lists existed are flagged "legacy: *".
import { seg } from './api.js';
import { h, when, toast, errorBox, confirmDialog, field, emptyState } from './ui.js';

function patterns(text) {
  return text.split(',').map((s) => s.trim()).filter(Boolean);
}

function listCell(list, legacy) {
  if (!Array.isArray(list)) return h('span.muted', {}, '—');
  return h('span', {}, h('span.mono', {}, list.join(', ')), legacy ? h('span.badge.bad', { title: 'Created before allow-lists: behaves as *. Re-create it with lists.' }, 'legacy: *') : '');
}

export async function render(root, ctx) {
  const { api } = ctx;
  const message = h('div', { id: 'apikeys-message' });
  const tableHost = h('div.table-wrap');

  const name = h('input', { id: 'new-key-name', required: true, autocomplete: 'off', placeholder: 'billing-worker' });
  const role = h('select', { id: 'new-key-role' }, ['worker', 'manager', 'reader', 'admin'].map((r) => h('option', { value: r }, r)));
  const functions = h('input', { id: 'new-key-functions', autocomplete: 'off', placeholder: 'payout, refund_*  (or *)' });
  const secrets = h('input', { id: 'new-key-secrets', autocomplete: 'off', placeholder: 'STRIPE_*  (or *)' });
  const form = h('form.inline', { id: 'create-apikey', 'aria-label': 'Create an API key' },
    field('Name', name), field('Role', role), field('Functions (worker/manager)', functions),
    field('Secrets (worker/manager)', secrets), h('button.primary', { type: 'submit' }, `Create key for ${api.env}`));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { name: name.value.trim(), role: role.value };
    if (role.value !== 'admin') body.environment = api.env;
    if (functions.value.trim()) body.functions = patterns(functions.value);
    if (secrets.value.trim()) body.secrets = patterns(secrets.value);
    try {
      const r = await api.call('POST', '/api/v1/apikeys', { json: body, withEnv: false });
      // The key is shown once, here, and never again (only its hash is stored).
      message.replaceChildren(h('div.notice', { role: 'status', id: 'new-key-shown' },
        `Created ${r.data.id}. Copy the key now; it is not shown again: `, h('code.mono', { id: 'new-key-value' }, r.data.key)));
      name.value = '';
      functions.value = '';
      secrets.value = '';
      await load();
    } catch (err) {
      message.replaceChildren(errorBox(err));
    }
  });

  async function load() {
    const keys = (await api.call('GET', '/api/v1/apikeys', { withEnv: false }).then((r) => r.data)).apikeys || [];
    tableHost.replaceChildren(keys.length ? h('table', { id: 'apikeys-table' },
      h('thead', {}, h('tr', {}, ...['Key', 'Role', 'Environment', 'Functions', 'Secrets', 'Created', 'Expires', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, keys.map((k) => h('tr', { dataset: { key: k.id } },
        h('td', {}, h('strong.mono', {}, k.id), h('div.muted', {}, k.name)),
        h('td', {}, k.role),
        h('td', {}, k.environment || 'all'),
        h('td', { dataset: { list: 'functions' } }, listCell(k.functions, k.legacy_scope)),
        h('td', { dataset: { list: 'secrets' } }, listCell(k.secrets, k.legacy_scope)),
        h('td', {}, when(k.created_at)),
        h('td', {}, k.expires_at ? when(k.expires_at) : h('span.muted', {}, 'never')),
        h('td', {}, h('button.danger', { type: 'button', onclick: async () => {
          if (!(await confirmDialog(`Revoke ${k.id}?`, `Requests with key ${k.id} (${k.name}) stop working at once.`, 'Revoke'))) return;
          try {
            await api.call('DELETE', `/api/v1/apikeys/${seg(k.id)}`, { withEnv: false });
            toast(`Revoked ${k.id}`);
            await load();
          } catch (err) {
            message.replaceChildren(errorBox(err));
          }
        } }, 'Revoke')))))) : emptyState('No API keys.'));
  }

  root.replaceChildren(
    h('h1', {}, 'API keys', h('span.sub', {}, 'admin')),
    h('p.muted', {}, 'Worker keys need allow-lists: the function ids they may serve and the secret names they may receive (* matches any run of name characters). Every delivery of a secret is in the audit trail.'),
    form, message, tableHost);
  await load();
}
