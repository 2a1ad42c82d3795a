// Small DOM helpers shared by the pages: element building (text only: never innerHTML with data), time
// formatting, notifications, confirmation dialogs.

// h('tag.class', {attr: v, onclick: f}, ...children) — children are nodes or strings (inserted as text).
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function relative(iso) {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

// A <time> showing "5 min ago" with the absolute time next to it (and in the tooltip).
export function when(iso) {
  if (!iso) return h('span.muted', {}, '—');
  return h('span', {}, h('time', { datetime: iso, title: iso }, relative(iso)), h('span.muted', {}, ` · ${iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}`));
}

export function duration(fromIso, toIso) {
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
}

let toastTimer = null;
export function toast(message, isError = false) {
  const t = document.getElementById('toast');
  t.textContent = message;
  t.className = isError ? 'toast error' : 'toast';
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, isError ? 8000 : 4000);
}

// An inline error box with the API's message.
export function errorBox(err) {
  const code = err && err.code ? ` (${err.code})` : '';
  return h('div.notice.error', { role: 'alert' }, `${err && err.message ? err.message : String(err)}${code}`);
}

// Asks for confirmation in a modal; resolves true when confirmed.
export function confirmDialog(title, text, okLabel = 'Delete') {
  const d = document.getElementById('confirm-dialog');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = okLabel;
  d.returnValue = '';
  d.showModal();
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
  });
}

export function field(label, input) {
  return h('div.field', {}, h('label', { for: input.id }, label), input);
}

export function emptyState(text) {
  return h('div.empty', {}, text);
}
