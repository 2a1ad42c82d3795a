// Runs: the environment's recent runs, and one run's event, steps and (redacted) output or error.
import { seg } from './api.js';
import { h, when, duration, emptyState } from './ui.js';

const statusBadge = (s) => h(`span.badge.${s === 'completed' ? 'ok' : s === 'failed' ? 'bad' : 'warn'}`, {}, s);
const pretty = (v) => JSON.stringify(v, null, 2);

async function renderRun(root, ctx, id) {
  const r = await ctx.api.get(`/api/v1/runs/${seg(id)}`);
  const finished = r.status === 'completed' || r.status === 'failed';
  root.replaceChildren(
    h('h1', {}, 'Run ', h('span.mono', {}, r.id), statusBadge(r.status)),
    h('p', {}, h('a', { href: '#/runs' }, '← all runs')),
    h('section.panel', {},
      h('table', {}, h('tbody', {},
        h('tr', {}, h('th', {}, 'Function'), h('td.mono', {}, r.function_id)),
        h('tr', {}, h('th', {}, 'Environment'), h('td', {}, r.environment)),
        h('tr', {}, h('th', {}, 'Attempts'), h('td', {}, String(r.attempt))),
        h('tr', {}, h('th', {}, 'Created'), h('td', {}, when(r.created_at))),
        h('tr', {}, h('th', {}, 'Duration'), h('td', {}, finished ? duration(r.created_at, r.updated_at) : 'still running'))))),
    h('h2', {}, 'Event ', h('span.mono', {}, r.event ? r.event.name : '')),
    h('pre', { id: 'run-event' }, pretty(r.event ? r.event.data : null)),
    h('h2', {}, 'Steps'),
    (r.steps || []).length
      ? h('table', {}, h('tbody', {}, r.steps.map((s) => h('tr', {}, h('td.mono', {}, s.id), h('td', {}, s.status), h('td', {}, h('pre', {}, pretty(s.output)))))))
      : h('p.muted', {}, 'No steps recorded.'),
    h('h2', {}, r.error ? 'Error' : 'Output', h('span.sub', {}, 'secret values are redacted by the server')),
    h('pre', { id: 'run-output' }, r.error ? r.error : pretty(r.output)));
}

export async function render(root, ctx) {
  if (ctx.params[0]) return renderRun(root, ctx, ctx.params[0]);
  const list = (await ctx.api.get('/api/v1/runs?limit=100')).runs || [];
  root.replaceChildren(
    h('h1', {}, 'Runs', h('span.sub', {}, `environment ${ctx.api.env} · newest first`)),
    list.length
      ? h('div.table-wrap', {}, h('table', { id: 'runs-table' },
        h('thead', {}, h('tr', {}, ...['Run', 'Function', 'Event', 'Status', 'Attempts', 'Started', 'Duration'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, list.map((r) => h('tr', { dataset: { run: r.id } },
          h('td', {}, h('a.mono', { href: `#/runs/${seg(r.id)}` }, r.id)),
          h('td.mono', {}, r.function_id),
          h('td.mono', {}, r.event ? r.event.name : ''),
          h('td', {}, statusBadge(r.status)),
          h('td', {}, String(r.attempt)),
          h('td', {}, when(r.created_at)),
          h('td', {}, r.status === 'completed' || r.status === 'failed' ? duration(r.created_at, r.updated_at) : '—'))))))
      : emptyState(`No runs in ${ctx.api.env} yet. Emit an event: ironflow emit NAME --data '{}' -e ${ctx.api.env}`));
  return ctx.hub.listen((ev) => {
    if (ev && ev.subject.startsWith('system.run.') && !ctx.params[0]) render(root, ctx).catch(() => {});
  });
}
