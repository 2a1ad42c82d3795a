// Functions: triggers, mode, and each declared secret's state in this environment (not set = a run will fail).
import { h, emptyState } from './ui.js';

export async function render(root, ctx) {
  const { api } = ctx;
  const fns = (await api.get('/api/v1/functions')).functions || [];
  const missingTotal = fns.reduce((n, f) => n + (f.secrets || []).filter((s) => !s.set).length, 0);
  const body = fns.length
    ? h('div.table-wrap', {}, h('table', { id: 'functions-table' },
      h('thead', {}, h('tr', {}, ...['Function', 'Triggers', 'Mode', 'Declared secrets', 'Retry / timeout'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, fns.map((f) => h('tr', { dataset: { function: f.id } },
        h('td', {}, h('strong.mono', {}, f.id), f.name && f.name !== f.id ? h('div.muted', {}, f.name) : ''),
        h('td', {}, (f.triggers || []).map((t) => h('div.mono', {}, t.event))),
        h('td', {}, f.mode, f.url ? h('div.muted.mono', {}, f.url) : ''),
        h('td', {}, (f.secrets || []).length ? (f.secrets || []).map((s) => h('div', { dataset: { secret: s.name } },
          h('span.mono', {}, s.name), ' ',
          s.set ? h('span.badge.ok', {}, 'set') : h('span.badge.bad', { title: `Set it with: ironflow secret set ${s.name} -e ${api.env}` }, 'not set'))) : h('span.muted', {}, 'none')),
        h('td', {}, `${(f.retry || {}).max_attempts ?? '—'} attempts · ${f.timeout_ms ?? '—'} ms`))))))
    : emptyState(`No functions registered in ${api.env}. Start a worker or register a push app with the SDK (see examples/).`);
  root.replaceChildren(
    h('h1', {}, 'Functions', h('span.sub', {}, `environment ${api.env}`)),
    missingTotal ? h('div.notice.error', { role: 'alert' }, `${missingTotal} declared secret(s) are not set in ${api.env}: runs of those functions will fail.`) : '',
    body);
}
