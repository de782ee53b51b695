// Overview: live statistics (stats_update), activity feed (recent + live), ingestion runs.
import { $, esc, fmtAgo, fmtDateTime, fmtDuration, fmtNum, fmtTime, h, on } from './util.js';

const STATS = [
  ['totalNodes', 'Objects'],
  ['tables', 'Tables'],
  ['views', 'Views'],
  ['procedures', 'Routines'],
  ['columns', 'Columns'],
  ['edges', 'Lineage edges'],
  ['filesProcessed', 'SQL files'],
  ['activeIngestions', 'Active ingestions', true],
  ['activeQueries', 'Active questions', true],
  ['connectedClients', 'Live clients', true],
];
const FEED_MAX = 80;
/** Live events that are people's actions (the page's own requests never are). */
const FEED_TYPES = new Set(['ingestion_started', 'ingestion_complete', 'query_complete', 'error']);
/** Stored activity types shown in the feed: ingestion, questions, errors, admin and review actions. */
const STORED_TYPES = [
  'ingestion_started', 'ingestion_complete', 'ingestion_failed', 'ingestion_completed_with_errors',
  'ingestion_cancelled', 'ingestion_interrupted', 'query_complete', 'error', 'action',
];
const PER_TYPE = 40;
const RUN_DONE = new Set(['completed', 'completed_with_errors', 'failed', 'cancelled', 'interrupted']);

let ctx;
let updates = 0;
const runs = new Map(); // run_id → {el, data}
let loaded = false;

export function init(c) {
  ctx = c;
  const grid = $('#stat-grid');
  for (const [key, label, secondary] of STATS) {
    grid.append(
      h(`div.stat${secondary ? '.secondary' : ''}`, { dataset: { stat: key } },
        h('div.label', {}, label),
        h('div.value', { id: `stat-${key}` }, '—'),
        h('div.trend', { id: `trend-${key}` })),
    );
  }
  on('ws:stats_update', (msg) => renderStats(msg.data, true));
  on('ws', (msg) => {
    if (FEED_TYPES.has(msg.type)) addFeed(fromLive(msg), true);
    if (msg.type.startsWith('ingestion_')) updateRun(msg.type, msg.data);
  });
  on('socket-live', () => loaded && refresh());
  on('activity-changed', () => loaded && loadActivity());
  $('#activity').addEventListener('mouseover', (e) => {
    const t = e.target.closest('.t[data-ts]');
    if (t) t.title = `${fmtAgo(t.dataset.ts)} · ${t.dataset.ts}`;
  });
  on('project-changed', () => loaded && loadRuns());
}

export function show() {
  if (!loaded) {
    loaded = true;
    refresh();
  }
}

async function refresh() {
  try {
    renderStats(await ctx.api.get('/api/v1/stats'), false);
  } catch {
    /* the socket will deliver the next update */
  }
  loadActivity();
  loadRuns();
}

function renderStats(data, live) {
  if (!data) return;
  updates += 1;
  document.body.dataset.statsUpdates = String(updates);
  for (const [key] of STATS) {
    const el = document.getElementById(`stat-${key}`);
    if (!el) continue;
    const text = fmtNum(data[key]);
    if (el.textContent !== text) {
      el.textContent = text;
      if (live) {
        const card = el.parentElement;
        card.classList.remove('flash');
        void card.offsetWidth;
        card.classList.add('flash');
      }
    }
    const trend = data.trends?.[key];
    const tEl = document.getElementById(`trend-${key}`);
    if (tEl && trend && trend.change != null) {
      const sign = trend.change > 0 ? '+' : '';
      const pct = trend.percent != null ? ` (${sign}${trend.percent.toFixed(1)}%)` : '';
      tEl.textContent = `${sign}${fmtNum(trend.change)}${pct} in ${data.trends.window_hours ?? 24} h`;
      tEl.className = `trend ${trend.change > 0 ? 'up' : trend.change < 0 ? 'down' : ''}`;
    } else if (tEl && !STATS.find(([k]) => k === key)[2]) {
      tEl.textContent = live ? `updated ${fmtTime(new Date())}` : '';
      tEl.className = 'trend';
    }
  }
}

// ---------------------------------------------------------------- activity feed

function describe(type, data = {}, extra = {}) {
  switch (type) {
    case 'ingestion_started':
      return `Ingestion run ${data.run_id ?? ''} started${data.files_total != null ? ` — ${data.files_total} files` : ''}`;
    case 'ingestion_complete':
    case 'ingestion_failed':
    case 'ingestion_completed_with_errors':
    case 'ingestion_cancelled':
    case 'ingestion_interrupted':
      return `Ingestion run ${data.run_id ?? ''} ${(data.status || 'completed').replace(/_/g, ' ')}: ${fmtNum(data.files_processed)} files processed, ${fmtNum(data.files_skipped_duplicate)} unchanged, ${fmtNum(data.files_failed)} failed; ${fmtNum(data.total_nodes_created)} objects written by this run${data.duration != null ? ` in ${fmtDuration(data.duration)}` : ''}`;
    case 'query_complete':
      return `Question answered (${data.mode || 'chat'}) in ${Math.round(data.latency_ms || 0)} ms${data.query_preview ? ` — “${data.query_preview}”` : ''}`;
    case 'error':
      return `${data.severity || 'error'}: ${data.error_type || 'error'}${data.endpoint ? ` on ${data.endpoint}` : ''}${data.status_code ? ` (${data.status_code})` : ''}`;
    case 'system_status_change':
      return `Server status: ${data.status}${data.reason ? ` — ${data.reason}` : ''}`;
    case 'action':
      return `${extra.key_name ? `${extra.key_name}: ` : ''}${extra.method || data.method || ''} ${extra.route || data.route || ''} → ${extra.status_code ?? data.status_code ?? ''}`;
    default:
      return type.replace(/_/g, ' ');
  }
}

function fromLive(msg) {
  return { type: msg.type, ts: msg.timestamp, text: describe(msg.type, msg.data) };
}

function addFeed(item, live) {
  const list = $('#activity');
  list.querySelector('.empty')?.remove();
  const kind = item.type === 'error' || item.type === 'ingestion_failed' ? 'error' : '';
  const label = item.type.replace('ingestion_', 'ingest ').replace('_complete', '').replace(/_/g, ' ');
  const li = h(`li${live ? '.new' : ''}`, { dataset: { type: item.type, ts: String(item.ts) } },
    h('time.t', { datetime: String(item.ts), dataset: { ts: String(item.ts) } }, fmtDateTime(item.ts)),
    h('span.what', { title: item.text, html: `<span class="kind ${kind}">${esc(label)}</span>${esc(item.text)}` }));
  if (live) list.prepend(li);
  else list.append(li);
  li.querySelector('.t').title = fmtAgo(item.ts);
  while (list.children.length > FEED_MAX) list.lastElementChild.remove();
}

async function loadActivity() {
  const list = $('#activity');
  try {
    // one query per type of people's action: the page's own reads (type `request`) never appear
    const pages = await Promise.all(STORED_TYPES.map((type) => ctx.api.get('/api/v1/activity/recent', { limit: PER_TYPE, type })));
    const events = pages.flatMap((p) => p.events || [])
      .sort((a, b) => String(b.ts).localeCompare(String(a.ts)) || (b.id || 0) - (a.id || 0));
    list.replaceChildren();
    for (const e of events.slice(0, FEED_MAX)) {
      addFeed({ type: e.type, ts: e.ts, text: describe(e.type, e.data || {}, e) }, false);
    }
    if (!list.children.length) list.append(h('li.empty', {}, 'No activity yet.'));
  } catch (exc) {
    list.replaceChildren(h('li.empty', {}, `Activity unavailable: ${exc.message}`));
  }
}

// ---------------------------------------------------------------- ingestion runs

function runCard(id) {
  const el = h('div.run', { dataset: { run: String(id) } },
    h('div.run-head', {}, h('span.id', {}, `run ${id}`), h('span.badge.queued', {}, 'queued')),
    h('div.progress', {}, h('div.bar')),
    h('div.run-foot', {}, h('span.file'), h('span.count')));
  const box = $('#runs');
  box.querySelector('.empty')?.remove();
  box.prepend(el);
  while (box.children.length > 12) box.lastElementChild.remove();
  return el;
}

function paintRun(id, data) {
  let entry = runs.get(String(id));
  if (!entry) {
    entry = { el: runCard(id), data: {} };
    runs.set(String(id), entry);
  }
  Object.assign(entry.data, data);
  const d = entry.data;
  const el = entry.el;
  const status = d.status || 'running';
  const finished = status === 'completed' || status === 'completed_with_errors';
  const pct = finished ? 100 : Math.max(0, Math.min(100, d.percentage ?? 0));
  const badge = el.querySelector('.badge');
  badge.className = `badge ${status}`;
  badge.textContent = status.replace(/_/g, ' ');
  el.dataset.status = status;
  const bar = el.querySelector('.progress');
  bar.classList.toggle('done', finished);
  bar.classList.toggle('failed', status === 'failed' || status === 'cancelled');
  el.querySelector('.bar').style.width = `${pct}%`;
  el.querySelector('.file').textContent = d.file || (d.project ? `project ${d.project}` : '');
  el.querySelector('.count').textContent = d.files_total != null
    ? `${fmtNum(d.files_done ?? 0)} / ${fmtNum(d.files_total)} files · ${Math.round(pct)}%`
    : `${Math.round(pct)}%`;
}

function updateRun(type, data) {
  if (data?.run_id == null) return;
  if (type === 'ingestion_started') paintRun(data.run_id, { status: 'running', percentage: 0, files_done: 0, files_total: data.files_total, project: data.project_id });
  else if (type === 'ingestion_progress') {
    // a progress event carries its file's status; a late one never reopens a finished run
    const seen = runs.get(String(data.run_id))?.data.status;
    if (!RUN_DONE.has(seen)) paintRun(data.run_id, { ...data, status: 'running' });
  }
  else if (type === 'ingestion_complete') {
    paintRun(data.run_id, {
      status: data.status || 'completed',
      percentage: 100,
      files_done: (data.files_processed || 0) + (data.files_skipped_duplicate || 0) + (data.files_failed || 0),
      files_total: (data.files_processed || 0) + (data.files_skipped_duplicate || 0) + (data.files_failed || 0),
      file: `${fmtNum(data.total_nodes_created)} objects · ${fmtDuration(data.duration)}`,
    });
  }
}

async function loadRuns() {
  try {
    const list = await ctx.api.get('/api/v1/ingestion/logs', { limit: 6, project_id: ctx.state.projectId || null });
    for (const r of [...(list || [])].reverse()) {
      if (runs.has(String(r.run_id))) continue;
      paintRun(r.run_id, {
        status: r.status,
        percentage: r.status === 'completed' || r.status === 'completed_with_errors' ? 100 : 0,
        file: `${r.created_at ? new Date(r.created_at).toLocaleString('en-GB') : ''} · project ${projectName(r.project_id)}`,
      });
    }
  } catch {
    /* older servers have no run list; live events still show */
  }
}

function projectName(id) {
  return ctx.state.projects.find((p) => p.id === id)?.name || id;
}
