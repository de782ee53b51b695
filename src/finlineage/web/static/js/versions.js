// Versions: the project's graph versions, the difference between any two (added, removed and
// changed edges; impacted objects), exportable as markdown.
import { download, fileSafe } from './exports.js';
import { $, fmtDateTime, fmtNum, h, on, toast } from './util.js';

let ctx;
let seq = 0;
let lastDiff = null;

export function init(c) {
  ctx = c;
  $('#diff-form').addEventListener('submit', (e) => {
    e.preventDefault();
    compare();
  });
  $('#diff-export').addEventListener('click', exportMarkdown);
  on('project-changed', () => ctx.state.current === 'versions' && load());
}

export function show(_ctx, params = {}) {
  load(params);
}

async function load(params = {}) {
  const mine = ++seq;
  const body = $('#versions-table tbody');
  const pid = ctx.state.projectId;
  $('#diff-out').hidden = true;
  $('#diff-export').disabled = true;
  if (!pid) {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 4 }, 'Choose a project to see its versions.')));
    return;
  }
  let versions;
  try {
    versions = (await ctx.api.get(`/api/v1/projects/${encodeURIComponent(pid)}/versions`)).versions || [];
  } catch (exc) {
    if (mine === seq) body.replaceChildren(h('tr', {}, h('td.error-text', { colspan: 4 }, `Versions unavailable: ${exc.message}`)));
    return;
  }
  if (mine !== seq) return;
  versions.sort((a, b) => b.version - a.version);
  $('#versions-note').textContent = `${versions.length} version${versions.length === 1 ? '' : 's'} of ${ctx.projectName(pid)}`;
  body.replaceChildren(...versions.map((v) => h('tr', { 'data-testid': 'version-row', dataset: { version: String(v.version) } },
    h('td', {}, h('b', {}, `v${v.version}`), v.label ? ` ${v.label}` : ''),
    h('td', { title: v.created_at || '' }, fmtDateTime(v.created_at)),
    h('td', {}, v.run_id != null ? `run ${v.run_id}` : '—'),
    h('td.muted', {}, [v.files != null ? `${fmtNum(v.files)} files` : null, v.objects != null ? `${fmtNum(v.objects)} objects` : null,
      v.edges != null ? `${fmtNum(v.edges)} edges` : null, v.commit ? `commit ${String(v.commit).slice(0, 10)}` : null].filter(Boolean).join(' · ')))));
  if (!versions.length) body.append(h('tr', {}, h('td', { colspan: 4 }, 'No versions yet: ingest some SQL.')));
  for (const sel of [$('#diff-from'), $('#diff-to')]) {
    sel.replaceChildren(...versions.map((v) => new Option(`v${v.version}${v.label ? ` ${v.label}` : ''}`, String(v.version))));
  }
  if (versions.length > 1) {
    $('#diff-from').value = String(params.from ?? versions[1].version);
    $('#diff-to').value = String(params.to ?? versions[0].version);
  }
  if (params.from && params.to) compare();
}

async function compare() {
  const from = $('#diff-from').value;
  const to = $('#diff-to').value;
  const project = ctx.state.projectId;
  const box = $('#diff-out');
  if (!from || !to) return;
  box.hidden = false;
  box.replaceChildren(h('div.empty', {}, `Comparing v${from} and v${to}…`));
  let diff;
  try {
    diff = await ctx.api.get('/api/v1/lineage/diff', { project_id: project, from, to });
  } catch (exc) {
    box.replaceChildren(h('div.error-text', {}, `Diff unavailable: ${exc.message}`));
    return;
  }
  lastDiff = { ...diff, projectId: project, from, to };
  $('#diff-export').disabled = false;
  box.replaceChildren(...diffBlocks(lastDiff));
}

const edgeText = (e) => `${e.source} → ${e.target}`;
const edgeSub = (e) => [e.granularity, e.kind, e.subtype?.toLowerCase(), e.status, e.file ? `${e.file}${e.line_start ? `:${e.line_start}` : ''}` : null].filter(Boolean).join(' · ');

function edgeItem(e, extra = null) {
  return h('li', {}, h('code', {}, edgeText(e)), h('span.muted.small', {}, ` ${edgeSub(e)}`), extra);
}

function list(key, title, items, render) {
  return [
    h('div.section-title', {}, `${title} (${items.length})`),
    items.length ? h('ul.diff-list', { dataset: { diff: key } }, items.slice(0, 500).map(render)) : h('div.muted.small', {}, 'none'),
    items.length > 500 ? h('div.muted.small', {}, `… ${items.length - 500} more in the markdown export`) : null,
  ];
}

function diffBlocks(d) {
  const impacted = d.impacted || [];
  const counts = `${d.added.length} added · ${d.removed.length} removed · ${d.changed.length} changed · ${impacted.length} impacted objects`;
  return [
    h('div.card-head', {}, h('h2', {}, `v${d.from} → v${d.to}`), h('span.muted.small', { 'data-testid': 'diff-summary' }, counts)),
    ...list('added', 'Added edges', d.added, (e) => edgeItem(e)),
    ...list('removed', 'Removed edges', d.removed, (e) => edgeItem(e, e.downstream ? h('span.badge.warn', {}, `${e.downstream} downstream`) : null)),
    ...list('changed', 'Changed edges', d.changed, (c) => h('li', {}, h('code', {}, edgeText(c.after)),
      h('div.muted.small', {}, `before: ${c.before.expression ?? c.before.formula ?? ''} · after: ${c.after.expression ?? c.after.formula ?? ''}`))),
    ...list('objects_added', 'Objects added', d.objects_added || [], (o) => h('li', {}, h('code', {}, o.canonical_id), ` ${o.kind}`)),
    ...list('objects_removed', 'Objects removed', d.objects_removed || [], (o) => h('li', {}, h('code', {}, o.canonical_id), ` ${o.kind}`)),
    h('div.section-title', {}, `Impacted objects (${impacted.length})`),
    impacted.length ? h('div.chips', { dataset: { diff: 'impacted' } }, impacted.slice(0, 500).map((o) => h('span.chip', { title: `hop ${o.hop} via ${(o.via || []).join(', ')}` }, o.canonical_id)))
      : h('div.muted.small', {}, 'none'),
  ].filter(Boolean);
}

/** The server's markdown rendering of the same diff, saved as a file. */
async function exportMarkdown() {
  if (!lastDiff) return;
  try {
    const text = await ctx.api.get('/api/v1/lineage/diff', { project_id: lastDiff.projectId, from: lastDiff.from, to: lastDiff.to, format: 'markdown' });
    download(`${fileSafe(`lineage-diff-${ctx.projectName(lastDiff.projectId)}-v${lastDiff.from}-v${lastDiff.to}`)}.md`, text, 'text/markdown');
  } catch (exc) {
    toast(`Markdown export failed: ${exc.message}`, 'bad');
  }
}
