// KV: the environment's buckets, their keys, one value at a time (text or hex view), writes and counters.
import { seg } from './api.js';
import { h, when, toast, errorBox, confirmDialog, field, emptyState } from './ui.js';

function decode(b64) {
  const bin = atob(b64 || '');
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

function hexView(bytes) {
  const lines = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const chunk = Array.from(bytes.slice(i, i + 16));
    const hex = chunk.map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = chunk.map((b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${i.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n') || '(empty)';
}

export async function render(root, ctx) {
  const { api } = ctx;
  const [bucket, key] = ctx.params;
  const message = h('div');

  const bucketsTable = async () => {
    const buckets = (await api.get('/api/v1/kv/buckets')).buckets || [];
    return buckets.length
      ? h('table', { id: 'buckets-table' }, h('thead', {}, h('tr', {}, ...['Bucket', 'TTL', 'History', 'Values', 'Bytes'].map((t) => h('th', {}, t)))),
        h('tbody', {}, buckets.map((b) => h(`tr${b.name === bucket ? '.selected' : ''}`, {},
          h('td', {}, h('a.mono', { href: `#/kv/${seg(b.name)}` }, b.name), b.description ? h('div.muted', {}, b.description) : ''),
          h('td', {}, b.ttl_seconds ? `${b.ttl_seconds} s` : 'never'), h('td', {}, String(b.history)),
          h('td', {}, String(b.values)), h('td', {}, String(b.bytes))))))
      : emptyState('No buckets yet. Create one for sessions, caches or counters.');
  };

  const bName = h('input', { id: 'new-bucket-name', required: true, placeholder: 'sessions', autocomplete: 'off' });
  const bTtl = h('input.narrow', { id: 'new-bucket-ttl', type: 'number', min: 0, value: 0 });
  const bHistory = h('input.tiny', { id: 'new-bucket-history', type: 'number', min: 1, max: 64, value: 1 });
  const createBucket = h('form.inline', { 'aria-label': 'Create a bucket' }, field('New bucket', bName), field('TTL (s, 0 = never)', bTtl), field('History', bHistory), h('button', { type: 'submit' }, 'Create bucket'));
  createBucket.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api.call('POST', '/api/v1/kv/buckets', { json: { name: bName.value.trim(), ttl_seconds: Number(bTtl.value), history: Number(bHistory.value) } });
      ctx.navigate(`#/kv/${seg(bName.value.trim())}`);
    } catch (err) {
      message.replaceChildren(errorBox(err));
    }
  });

  const left = h('section.panel', {}, await bucketsTable(), createBucket);
  const right = h('section.panel');

  if (bucket) {
    const base = `/api/v1/kv/buckets/${seg(bucket)}`;
    let keys;
    try {
      keys = (await api.get(`${base}/keys`)).keys || [];
    } catch (err) {
      right.replaceChildren(errorBox(err));
      root.replaceChildren(h('h1', {}, 'KV'), message, h('div.grid2', {}, left, right));
      return;
    }
    const kName = h('input', { id: 'kv-key', required: true, placeholder: 'user.42', autocomplete: 'off', value: key || '' });
    const kValue = h('textarea.short', { id: 'kv-value', 'aria-label': 'Value' });
    const putForm = h('form', { 'aria-label': 'Write a key' }, field('Key', kName), field('Value (text)', kValue),
      h('div.actions', {}, h('button', { type: 'button', id: 'kv-incr', onclick: async () => {
        try {
          const r = await api.call('POST', `${base}/keys/${seg(kName.value.trim())}/increment`, { json: { by: 1 } });
          toast(`${kName.value.trim()} = ${r.data.value}`);
          ctx.navigate(`#/kv/${seg(bucket)}/${seg(kName.value.trim())}`);
          if (key === kName.value.trim()) render(root, ctx);
        } catch (err) { message.replaceChildren(errorBox(err)); }
      } }, 'Increment counter'), h('button.primary', { type: 'submit' }, 'Put')));
    putForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const r = await api.call('PUT', `${base}/keys/${seg(kName.value.trim())}`, { body: kValue.value });
        toast(`Wrote ${kName.value.trim()} (revision ${r.data.revision})`);
        ctx.navigate(`#/kv/${seg(bucket)}/${seg(kName.value.trim())}`);
        if (key === kName.value.trim()) render(root, ctx);
      } catch (err) { message.replaceChildren(errorBox(err)); }
    });

    let valuePanel = h('p.muted', {}, 'Pick a key to see its value.');
    if (key) {
      try {
        const entry = (await api.call('GET', `${base}/keys/${seg(key)}`)).data;
        const bytes = decode(entry.value);
        const pre = h('pre.kv-value', { id: 'kv-shown-value' });
        const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
        const show = (mode) => {
          pre.textContent = mode === 'hex' ? hexView(bytes) : text;
          textBtn.setAttribute('aria-pressed', String(mode !== 'hex'));
          hexBtn.setAttribute('aria-pressed', String(mode === 'hex'));
        };
        const textBtn = h('button.small', { type: 'button', onclick: () => show('text') }, 'Text');
        const hexBtn = h('button.small', { type: 'button', onclick: () => show('hex') }, 'Hex');
        show('text');
        valuePanel = h('div', {}, h('h2', {}, h('span.mono', {}, key), h('span.sub', {}, ` revision ${entry.revision} · ${bytes.length} bytes · written `), when(entry.created_at)),
          h('div.tabs', { role: 'group', 'aria-label': 'View' }, textBtn, hexBtn), pre,
          h('div.actions', {}, h('button.danger', { type: 'button', onclick: async () => {
            if (!await confirmDialog(`Delete ${key}?`, `Delete key ${key} from bucket ${bucket} in environment ${api.env}?`)) return;
            try { await api.call('DELETE', `${base}/keys/${seg(key)}`); ctx.navigate(`#/kv/${seg(bucket)}`); } catch (err) { message.replaceChildren(errorBox(err)); }
          } }, 'Delete key')));
      } catch (err) {
        valuePanel = errorBox(err);
      }
    }
    right.replaceChildren(
      h('h2', {}, 'Bucket ', h('span.mono', {}, bucket), h('span.sub', {}, ` ${keys.length} key(s)`)),
      keys.length ? h('ul', { id: 'kv-keys' }, keys.map((k) => h('li', {}, h('a.mono', { href: `#/kv/${seg(bucket)}/${seg(k)}` }, k)))) : emptyState('No keys yet.'),
      valuePanel, h('h2', {}, 'Write'), putForm,
      h('div.actions', {}, h('button.danger', { type: 'button', onclick: async () => {
        if (!await confirmDialog(`Delete bucket ${bucket}?`, `Delete bucket ${bucket} and all ${keys.length} key(s) from environment ${api.env}?`)) return;
        try { await api.call('DELETE', base); toast(`Deleted bucket ${bucket}`); ctx.navigate('#/kv'); } catch (err) { message.replaceChildren(errorBox(err)); }
      } }, 'Delete bucket')));
  } else {
    right.replaceChildren(h('p.muted', {}, 'Pick a bucket to browse its keys.'));
  }
  root.replaceChildren(h('h1', {}, 'KV', h('span.sub', {}, `environment ${api.env} · sessions, caches, counters (not for secrets)`)), message, h('div.grid2', {}, left, right));
}
