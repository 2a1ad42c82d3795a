// Activity: the last hour of the environment's system events (from /api/v1/audit) as a per-minute chart of
// mutations and runs, and a feed that grows live from the app's event stream without a reload.
import { h, relative } from './ui.js';

const NS = 'http://www.w3.org/2000/svg';

function describe(subject, data) {
  const parts = subject.split('.');
  const kind = parts[1];
  const action = parts[parts.length - 1];
  const name = parts.slice(2, -1).join('.');
  const actor = data && data.actor ? ` by ${data.actor.name || data.actor.id}` : '';
  const rev = data && data.revision ? ` (revision ${data.revision})` : '';
  if (kind === 'run') return `run ${name} ${action}${data && data.function_id ? ` · ${data.function_id}` : ''}`;
  return `${kind} ${name} ${action}${rev}${actor}`;
}

function chart(buckets) {
  const w = 600, hgt = 120, n = buckets.length, bw = w / n;
  const max = Math.max(1, ...buckets.map((b) => b.mutations + b.runs));
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${hgt}`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('role', 'img');
  const total = buckets.reduce((a, b) => ({ m: a.m + b.mutations, r: a.r + b.runs }), { m: 0, r: 0 });
  svg.setAttribute('aria-label', `Last 60 minutes: ${total.m} mutations, ${total.r} run events`);
  buckets.forEach((b, i) => {
    const mh = (b.mutations / max) * hgt, rh = (b.runs / max) * hgt;
    for (const [height, y, color] of [[mh, hgt - mh, '#2457c5'], [rh, hgt - mh - rh, '#1a7f37']]) {
      if (height <= 0) continue;
      const r = document.createElementNS(NS, 'rect');
      r.setAttribute('x', String(i * bw + 1));
      r.setAttribute('y', String(y));
      r.setAttribute('width', String(Math.max(1, bw - 2)));
      r.setAttribute('height', String(height));
      r.setAttribute('fill', color);
      svg.append(r);
    }
  });
  return svg;
}

export async function render(root, ctx) {
  const { api, hub } = ctx;
  const since = Date.now() - 3600 * 1000;
  const history = (await api.get(`/api/v1/audit?since=60m&limit=5000`)).entries || [];
  // Oldest first: the audit history, then what the live stream brought since the app started (deduplicated).
  const items = history.slice().reverse().map((e) => ({ subject: e.subject, data: e.event, at: e.time }));
  const seen = new Set(items.map((i) => `${i.subject}|${i.data && (i.data.revision ?? i.data.timestamp)}`));
  const addLive = (ev) => {
    const k = `${ev.subject}|${ev.data && (ev.data.revision ?? ev.data.timestamp)}`;
    if (seen.has(k)) return false;
    seen.add(k);
    items.push({ subject: ev.subject, data: ev.data, at: ev.data && ev.data.timestamp ? ev.data.timestamp : ev.received });
    return true;
  };
  for (const ev of hub.recent) addLive(ev);

  const chartHost = h('div');
  const feed = h('ul.feed', { id: 'activity-feed', 'aria-live': 'polite' });
  const state = h('span.sub', { id: 'stream-state' });

  const draw = () => {
    const buckets = Array.from({ length: 60 }, () => ({ mutations: 0, runs: 0 }));
    for (const it of items) {
      const t = Date.parse(it.at);
      if (!(t >= since)) continue;
      const idx = Math.min(59, Math.floor((t - (Date.now() - 3600 * 1000)) / 60000));
      if (idx < 0) continue;
      if (it.subject.startsWith('system.run.')) buckets[idx].runs++;
      else buckets[idx].mutations++;
    }
    chartHost.replaceChildren(chart(buckets), h('div.axis', {}, h('span', {}, '60 min ago'), h('span', {}, 'now')),
      h('div.legend', {},
        h('span', {}, h('span.swatch.mutations'), 'secret / config changes per minute'),
        h('span', {}, h('span.swatch.runs'), 'run status changes per minute')));
    const newest = items.slice(-200).reverse();
    feed.replaceChildren(...(newest.length ? newest.map((it) => h('li', { dataset: { subject: it.subject } },
      h('time.when', { datetime: it.at, title: it.at }, relative(it.at)), h('span.mono', {}, it.subject), h('span', {}, describe(it.subject, it.data))))
      : [h('li.muted', {}, `Nothing happened in ${api.env} in the last hour. Changes appear here as they happen.`)]));
    state.textContent = hub.state === 'live' ? '● live' : hub.state === 'error' ? `stream error: ${hub.error && hub.error.message}` : hub.state;
  };

  root.replaceChildren(h('h1', {}, 'Activity', h('span.sub', {}, `environment ${api.env} · last hour`), state),
    h('section.panel', {}, chartHost), h('section.panel', {}, h('h2', {}, 'System events'), feed));
  draw();
  const timer = setInterval(draw, 30000);  // keep relative times and the chart's window current
  const stop = hub.listen((ev) => {
    if (!ev || addLive(ev)) draw();
  });
  return () => { clearInterval(timer); stop(); };
}
