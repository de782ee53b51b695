// Versions: the project's graph versions, the difference between any two (added, removed and
// changed edges; impacted objects), exportable as markdown.
import { download, fileSafe } from './exports.js';
import { $, fmtDateTime, fmtNum, h, on } from './util.js';

let ctx;
let seq = 0;
let lastDiff = null;

export function init(c) {
  ctx = c;
  $('#diff-form').addEventListener('submit', (e) => {
    e.preventDefault();
    compare();
  });
  $('#diff-export').addEventListener('click', () => {
    if (lastDiff) download(`${fileSafe(`diff-${lastDiff.project}-v${lastDiff.from}-v${lastDiff.to}`)}.md`, markdown(lastDiff), 'text/markdown');
  });
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
    const out = await ctx.api.get(`/api/v1/projects/${encodeURIComponent(pid)}/versions`);
    versions = Array.isArray(out) ? out : out.items || out.versions || [];
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
  lastDiff = { ...diff, project: ctx.projectName(project), from, to };
  $('#diff-export').disabled = false;
  box.replaceChildren(...diffBlocks(lastDiff));
}

const edgeText = (e) => `${e.source_canonical_id ?? e.source} → ${e.target_canonical_id ?? e.target}`;
const edgeSub = (e) => [e.granularity, e.kind, e.subtype, e.status, e.change || e.changes && Object.keys(e.changes).join(', ')].filter(Boolean).join(' · ');
const objText = (o) => (typeof o === 'string' ? o : o.canonical_id ?? o.name ?? JSON.stringify(o));

function sections(d) {
  return [
    ['added', 'Added edges', d.added || d.edges?.added || []],
    ['removed', 'Removed edges', d.removed || d.edges?.removed || []],
    ['changed', 'Changed edges', d.changed || d.edges?.changed || []],
  ];
}

function impactedOf(d) {
  return d.impacted || d.impacted_objects || [];
}

function diffBlocks(d) {
  const impacted = impactedOf(d);
  return [
    h('div.card-head', {}, h('h2', {}, `v${d.from} → v${d.to}`),
      h('span.muted.small', { 'data-testid': 'diff-summary' }, sections(d).map(([, t, xs]) => `${xs.length} ${t.split(' ')[0].toLowerCase()}`).join(' · ') + ` · ${impacted.length} impacted objects`)),
    ...sections(d).flatMap(([key, title, xs]) => [
      h('div.section-title', {}, `${title} (${xs.length})`),
      xs.length ? h('ul.diff-list', { dataset: { diff: key } }, xs.slice(0, 500).map((e) => h('li', {}, h('code', {}, edgeText(e)), h('span.muted.small', {}, ` ${edgeSub(e)}`))))
        : h('div.muted.small', {}, 'none'),
    ]),
    h('div.section-title', {}, `Impacted objects (${impacted.length})`),
    impacted.length ? h('div.chips', {}, impacted.slice(0, 500).map((o) => h('span.chip', {}, objText(o)))) : h('div.muted.small', {}, 'none'),
  ];
}

/** The diff as a markdown report. */
export function markdown(d) {
  const lines = [`# Lineage changes: ${d.project}, v${d.from} → v${d.to}`, ''];
  for (const [, title, xs] of sections(d)) {
    lines.push(`## ${title} (${xs.length})`, '');
    if (!xs.length) lines.push('_none_');
    for (const e of xs) lines.push(`- \`${edgeText(e)}\`${edgeSub(e) ? ` — ${edgeSub(e)}` : ''}`);
    lines.push('');
  }
  const impacted = impactedOf(d);
  lines.push(`## Impacted objects (${impacted.length})`, '');
  if (!impacted.length) lines.push('_none_');
  for (const o of impacted) lines.push(`- \`${objText(o)}\``);
  return `${lines.join('\n')}\n`;
}
