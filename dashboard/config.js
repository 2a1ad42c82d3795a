// Config: JSON documents of the environment; view, edit (validated as a JSON object, saved with If-Match so a
// concurrent change is shown instead of overwritten), create and delete.
import { ApiError, seg } from './api.js';
import { h, when, toast, errorBox, confirmDialog, field, emptyState } from './ui.js';

export async function render(root, ctx) {
  const { api } = ctx;
  const listHost = h('div');
  const editor = h('div');
  const message = h('div');
  let selected = ctx.params[0] || null;

  async function loadList() {
    const configs = (await api.get('/api/v1/config')).configs || [];
    listHost.replaceChildren(configs.length
      ? h('table', { id: 'config-table' }, h('tbody', {}, configs.map((c) => h(`tr${c.name === selected ? '.selected' : ''}`, {},
        h('td', {}, h('a.mono', { href: `#/config/${seg(c.name)}` }, c.name)),
        h('td.muted', {}, `rev ${c.revision}`)))))
      : emptyState('No config documents yet.'));
  }

  async function loadEditor() {
    if (!selected) {
      editor.replaceChildren(h('p.muted', {}, 'Pick a document, or create one.'));
      return;
    }
    let doc;
    try {
      doc = (await api.call('GET', `/api/v1/config/${seg(selected)}`)).data;
    } catch (err) {
      editor.replaceChildren(errorBox(err));
      return;
    }
    const text = h('textarea', { id: 'config-editor', 'aria-label': `JSON of ${doc.name}`, spellcheck: 'false' });
    text.value = JSON.stringify(doc.data, null, 2);
    const save = async (e) => {
      e.preventDefault();
      let data;
      try {
        data = JSON.parse(text.value);
      } catch (err) {
        message.replaceChildren(h('div.notice.error', { role: 'alert' }, `Not valid JSON: ${err.message}`));
        return;
      }
      if (data === null || typeof data !== 'object' || Array.isArray(data)) {
        message.replaceChildren(h('div.notice.error', { role: 'alert' }, 'A config document must be a JSON object, like {"feature": true}.'));
        return;
      }
      try {
        const r = await api.call('PUT', `/api/v1/config/${seg(doc.name)}`, { json: { data }, headers: { 'If-Match': `"${doc.revision}"` } });
        toast(`Saved ${doc.name} (revision ${r.data.revision})`);
        message.replaceChildren();
        await Promise.all([loadList(), loadEditor()]);
      } catch (err) {
        if (err instanceof ApiError && err.status === 412) {
          message.replaceChildren(h('div.notice.error', { role: 'alert' },
            `Not saved: ${doc.name} changed since you opened it (revision ${doc.revision}). Reload it to see the current document.`));
        } else {
          message.replaceChildren(errorBox(err));
        }
      }
    };
    const remove = async () => {
      if (!await confirmDialog(`Delete ${doc.name}?`, `Delete config ${doc.name} from environment ${api.env}?`)) return;
      try {
        await api.call('DELETE', `/api/v1/config/${seg(doc.name)}`, { headers: { 'If-Match': `"${doc.revision}"` } });
        toast(`Deleted ${doc.name}`);
        ctx.navigate('#/config');
      } catch (err) {
        message.replaceChildren(errorBox(err));
      }
    };
    const form = h('form', {}, text, h('div.actions', {},
      h('button.danger', { type: 'button', onclick: remove }, 'Delete'),
      h('button', { type: 'button', onclick: () => loadEditor() }, 'Reload'),
      h('button.primary', { type: 'submit', id: 'config-save' }, 'Save')));
    form.addEventListener('submit', save);
    editor.replaceChildren(h('h2', {}, h('span.mono', {}, doc.name), h('span.sub', {}, ` revision ${doc.revision} · updated `), when(doc.updated_at)), form);
  }

  const newName = h('input', { id: 'new-config-name', required: true, placeholder: 'flags', autocomplete: 'off' });
  const createForm = h('form.inline', { 'aria-label': 'Create a config document' }, field('New document', newName), h('button', { type: 'submit' }, 'Create'));
  createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api.call('PUT', `/api/v1/config/${seg(newName.value.trim())}`, { json: { data: {} }, headers: { 'If-None-Match': '*' } });
      ctx.navigate(`#/config/${seg(newName.value.trim())}`);
    } catch (err) {
      message.replaceChildren(errorBox(err));
    }
  });

  root.replaceChildren(h('h1', {}, 'Config', h('span.sub', {}, `environment ${api.env} · readable settings, not for secrets`)),
    message, h('div.grid2', {}, h('section.panel', {}, listHost, createForm), h('section.panel', {}, editor)));
  await Promise.all([loadList(), loadEditor()]);
}
