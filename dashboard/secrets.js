// Secrets: metadata only. Values are typed into password fields, sent once, and the fields are cleared; the API
// never returns a value and this page never asks for one.
import { ApiError, seg } from './api.js';
import { h, when, toast, errorBox, confirmDialog, field, emptyState } from './ui.js';

export async function render(root, ctx) {
  const { api, hub, status } = ctx;
  const message = h('div', { id: 'secrets-message' });
  const tableHost = h('div.table-wrap');
  let list = [];
  let editing = false;  // a rotate/edit form is open: live updates must not redraw it away

  const name = h('input', { id: 'new-secret-name', name: 'name', required: true, pattern: '[A-Za-z_][A-Za-z0-9_\\-]{0,127}', autocomplete: 'off', placeholder: 'STRIPE_KEY' });
  const value = h('input', { id: 'new-secret-value', name: 'value', type: 'password', required: true, autocomplete: 'new-password' });
  const description = h('input', { id: 'new-secret-description', name: 'description', autocomplete: 'off', placeholder: 'optional' });
  const createForm = h('form.inline', { id: 'create-secret', 'aria-label': 'Create a secret' },
    field('Name', name), field('Value (write-only)', value), field('Description', description),
    h('button.primary', { type: 'submit' }, 'Create secret'));
  createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { name: name.value.trim(), value: value.value };
    if (description.value) body.description = description.value;
    value.value = '';  // the value leaves the page with this request and nowhere else
    try {
      const r = await api.call('POST', '/api/v1/secrets', { json: body });
      body.value = '';
      toast(`Created ${r.data.name} (revision ${r.data.revision}) in ${api.env}`);
      name.value = '';
      description.value = '';
      message.replaceChildren();
      await load();
    } catch (err) {
      body.value = '';
      message.replaceChildren(errorBox(err));
    }
  });

  function rotateRow(s, tr) {
    editing = true;
    const input = h('input', { type: 'password', id: `rotate-${s.name}`, 'aria-label': `New value for ${s.name}`, autocomplete: 'new-password', required: true });
    const form = h('form.inline', { 'aria-label': `Rotate ${s.name}` }, field('New value (write-only)', input),
      h('button.primary', { type: 'submit' }, 'Rotate'), h('button', { type: 'button', onclick: () => load() }, 'Cancel'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const json = { value: input.value };
      input.value = '';
      try {
        const r = await api.call('PUT', `/api/v1/secrets/${seg(s.name)}`, { json, headers: { 'If-Match': `"${s.revision}"` } });
        json.value = '';
        toast(`Rotated ${s.name}: revision ${r.data.revision}`);
        message.replaceChildren();
        await load();
      } catch (err) {
        json.value = '';
        if (err instanceof ApiError && err.status === 412) {
          let now = '';
          try { now = ` It is now at revision ${(await api.get(`/api/v1/secrets/${seg(s.name)}`)).revision}.`; } catch { /* deleted */ }
          message.replaceChildren(h('div.notice.error', { role: 'alert', id: 'rotate-conflict' },
            `Not rotated: ${s.name} changed since you loaded it (you saw revision ${s.revision}).${now} Review the list and rotate again.`));
          await load();
        } else {
          message.replaceChildren(errorBox(err));
        }
      }
    });
    const cell = h('td', { colspan: 7 }, form);
    const row = h('tr', {}, cell);
    tr.after(row);
    input.focus();
  }

  function editDescription(s, tr) {
    editing = true;
    const input = h('input', { id: `describe-${s.name}`, value: s.description || '', 'aria-label': `Description of ${s.name}` });
    const form = h('form.inline', {}, field('Description', input), h('button.primary', { type: 'submit' }, 'Save'),
      h('button', { type: 'button', onclick: () => load() }, 'Cancel'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await api.call('PATCH', `/api/v1/secrets/${seg(s.name)}`, { json: { description: input.value }, headers: { 'If-Match': `"${s.revision}"` } });
        toast(`Updated the description of ${s.name}`);
        await load();
      } catch (err) {
        message.replaceChildren(errorBox(err));
      }
    });
    tr.after(h('tr', {}, h('td', { colspan: 7 }, form)));
    input.focus();
  }

  async function remove(s) {
    const ok = await confirmDialog(`Delete ${s.name}?`, `Delete secret ${s.name} from environment ${api.env}? Functions that declare it will fail until it is set again.`);
    if (!ok) return;
    try {
      await api.call('DELETE', `/api/v1/secrets/${seg(s.name)}`, { headers: { 'If-Match': `"${s.revision}"` } });
      toast(`Deleted ${s.name} from ${api.env}`);
      await load();
    } catch (err) {
      message.replaceChildren(errorBox(err));
    }
  }

  function draw() {
    if (!list.length) {
      tableHost.replaceChildren(emptyState(`No secrets in ${api.env} yet. Create one above, or run: ironflow secret set NAME -e ${api.env}`));
      return;
    }
    const rows = list.map((s) => {
      const tr = h('tr', { dataset: { secret: s.name } },
        h('td', {}, h('strong.mono', {}, s.name)),
        h('td', {}, s.description || h('span.muted', {}, '—')),
        h('td.mono', { dataset: { field: 'revision' } }, String(s.revision)),
        h('td', {}, when(s.updated_at)),
        h('td', {}, when(s.created_at)),
        h('td', {}, s.encrypted ? h('span.badge.ok', { title: `key id ${s.key_id}` }, 'encrypted') : h('span.badge.bad', {}, 'plaintext')),
        h('td', {}, h('div.actions', {},
          h('button.small', { type: 'button', onclick: (e) => rotateRow(s, e.target.closest('tr')) }, 'Rotate'),
          h('button.small', { type: 'button', onclick: (e) => editDescription(s, e.target.closest('tr')) }, 'Edit'),
          h('button.small.danger', { type: 'button', onclick: () => remove(s) }, 'Delete'))));
      return tr;
    });
    tableHost.replaceChildren(h('table', { id: 'secrets-table' },
      h('thead', {}, h('tr', {}, ...['Name', 'Description', 'Revision', 'Updated', 'Created', 'At rest', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)));
  }

  async function load() {
    editing = false;
    list = (await api.get('/api/v1/secrets')).secrets || [];
    draw();
  }

  root.replaceChildren(
    h('h1', {}, 'Secrets', h('span.sub', {}, `environment ${api.env} · values are write-only`)),
    status && status.encryption && status.encryption.enabled === false
      ? h('div.notice', {}, 'No master key: stored unencrypted.') : '',
    h('section.panel', {}, h('h2', {}, 'New secret'), createForm),
    message,
    tableHost);
  await load();
  // Another operator's change (or ours from the CLI) shows up without a reload.
  return hub.listen((ev) => {
    if (!ev || !ev.subject.startsWith('system.secret.')) return;
    if (editing) {
      // Keep the open form; a write based on what it saw will be refused (If-Match) and explained.
      message.replaceChildren(h('div.notice', { role: 'status' }, `${ev.data.name} changed (revision ${ev.data.revision}) while you were editing.`));
      return;
    }
    load().catch((err) => message.replaceChildren(errorBox(err)));
  });
}
