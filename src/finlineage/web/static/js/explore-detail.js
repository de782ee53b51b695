// The explore view's side panel: a node's definition (relevant lines highlighted), the formula of
// a column with each step's original source text, and the impact of a change (with CSV export).
import { download, fileSafe, impactCsv } from './exports.js';
import { $, esc, fmtNum, h } from './util.js';

const detailCache = new Map();
export const clearDetailCache = () => detailCache.clear();

/** Link to the file view at some lines (the page's own route). */
export function fileHref(ctx, fileId, from, to) {
  const qs = new URLSearchParams({ project: ctx.state.projectId || '', id: String(fileId) });
  if (from) qs.set('from', String(from));
  if (to) qs.set('to', String(to));
  return `#/file?${qs}`;
}

async function nodeDetail(ctx, id) {
  const key = `${id}@${ctx.state.projectId}`;
  if (!detailCache.has(key)) {
    detailCache.set(key, ctx.api.get(`/api/v1/lineage/node/${encodeURIComponent(id)}`, { project_id: ctx.state.projectId || null }));
  }
  try {
    return await detailCache.get(key);
  } catch (exc) {
    detailCache.delete(key);
    throw exc;
  }
}

// ---------------------------------------------------------------- definition

/** env: {ctx, edges (on screen), nodes (on screen), open(root), isCurrent()} */
export async function showDefinition(env, node) {
  const box = $('#detail-definition');
  if (!node) {
    box.replaceChildren(h('div.empty', {}, 'Click a node to see its definition.'));
    return;
  }
  const raw = node.raw;
  const column = raw.kind === 'column' ? raw.name : null;
  box.replaceChildren(h('div.empty', {}, 'Loading…'));
  let d;
  try {
    d = await nodeDetail(env.ctx, raw.object_id ?? raw.id);
  } catch (exc) {
    box.replaceChildren(h('div.error-text', {}, `Could not load the definition: ${exc.message}`));
    return;
  }
  if (!env.isCurrent()) return;
  renderDetail(env, box, d, raw, column);
}

function neighbourTerms(env, raw) {
  const byId = new Map(env.nodes.map((n) => [n.id, n]));
  const terms = new Set();
  for (const e of env.edges) {
    const other = e.target === raw.id ? e.source : e.source === raw.id ? e.target : null;
    const n = other == null ? null : byId.get(other);
    if (n) terms.add(n.name);
  }
  return terms;
}

const escRx = (t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function renderDetail(env, box, d, raw, column) {
  const { ctx, open } = env;
  const start = d.line_start || 1;
  const terms = column ? new Set([column]) : neighbourTerms(env, raw);
  const file = d.file?.path;
  const rx = terms.size ? new RegExp(`(^|[^\\w$#@])(${[...terms].map(escRx).join('|')})(?![\\w$#@])`, 'i') : null;
  let hits = 0;
  const code = (d.definition || '').split('\n').map((text, i) => {
    const hl = rx && rx.test(text);
    if (hl) hits += 1;
    const html = highlightSql(text);
    return `<div class="ln${hl ? ' hl' : ''}" data-line="${start + i}"><i>${start + i}</i><span>${hl ? markTerms(html, rx) : html}</span></div>`;
  }).join('');
  const incoming = env.edges.filter((e) => e.target === raw.id).slice(0, 40);
  const self = column ? `${d.canonical_id}.${column}` : d.canonical_id;
  box.replaceChildren(...[
    h('h3.node-title', { 'data-node': d.canonical_id }, self),
    h('div.node-meta', {},
      h('span.badge', {}, column ? `column of ${d.kind.replace('_', ' ')}` : d.kind.replace('_', ' ')),
      d.dialect ? h('span', {}, d.dialect) : null,
      file ? h('a.file', { href: fileHref(ctx, d.file.id, d.line_start, d.line_end), title: 'open the file at these lines' },
        `${file}${d.line_start ? `:${d.line_start}–${d.line_end}` : ''}`) : h('span', {}, 'no source file')),
    h('div.section-title', {}, `Definition${hits ? ` · ${hits} relevant line${hits > 1 ? 's' : ''} highlighted` : ''}`),
    d.definition ? h('div.code', { id: 'definition-code', html: code })
      : h('div.muted', {}, 'No definition stored for this object (declared outside the ingested SQL).'),
    d.columns?.length ? h('div.section-title', {}, `Columns (${d.columns.filter((c) => c.name !== '*').length})`) : null,
    d.columns?.length ? h('div.chips', {}, d.columns.filter((c) => c.name !== '*').map((c) =>
      h(`button.chip${c.name === column ? '.on' : ''}`, { type: 'button', title: c.data_type || '', onclick: () => open({ kind: 'column', ref: `${d.canonical_id}.${c.name}` }) }, c.name))) : null,
    incoming.length ? h('div.section-title', {}, 'How it is derived (in this graph)') : null,
    incoming.length ? h('ul.evidence', {}, incoming.map((e) => h('li', {},
      h('code', {}, e.source_canonical_id),
      h('span.muted', {}, ` ${e.kind}${e.subtype ? ` · ${e.subtype.toLowerCase()}` : ''}${e.status && e.status !== 'observed' ? ` · ${e.status}` : ''}`),
      e.expression ? h('div', {}, h('code', {}, e.expression)) : null,
      e.file_id ? h('a.muted.small', { href: fileHref(ctx, e.file_id, e.line_start, e.line_end) }, `${e.file}${e.line_start ? `:${e.line_start}–${e.line_end}` : ''}`)
        : h('div.muted', {}, `${e.file || ''}${e.line_start ? `:${e.line_start}–${e.line_end}` : ''}`),
      e.process ? h('span.muted.small', {}, ` · via ${e.process}`) : null))) : null,
    ...neighbourChips(open, 'Reads', d.reads),
    ...neighbourChips(open, 'Feeds', d.writes),
  ].filter(Boolean));
  scrollToLine(box.querySelector('.ln.hl'));
}

function markTerms(html, rx) {
  const global = new RegExp(rx.source, 'gi');
  return html.split(/(<[^>]+>)/).map((part) => (part.startsWith('<') ? part : part.replace(global, '$1<mark>$2</mark>'))).join('');
}

function neighbourChips(open, title, items) {
  if (!items?.length) return [];
  const unique = [...new Map(items.map((i) => [i.canonical_id, i])).values()];
  return [
    h('div.section-title', {}, `${title} (${unique.length})`),
    h('div.chips', {}, unique.slice(0, 40).map((i) => h('button.chip', { type: 'button', title: i.kind, onclick: () => open({ kind: 'node', ref: i.canonical_id }) }, i.canonical_id))),
  ];
}

const SQL_KW = new RegExp(`\\b(${[
  'select', 'from', 'where', 'join', 'left', 'right', 'inner', 'outer', 'full', 'cross', 'on', 'and', 'or', 'not',
  'as', 'case', 'when', 'then', 'else', 'end', 'group', 'by', 'order', 'having', 'union', 'all', 'insert', 'into',
  'overwrite', 'table', 'update', 'set', 'delete', 'merge', 'using', 'matched', 'create', 'replace', 'view',
  'materialized', 'procedure', 'function', 'returns', 'begin', 'declare', 'with', 'over', 'partition', 'distinct',
  'sum', 'count', 'max', 'min', 'avg', 'coalesce', 'cast', 'is', 'null', 'in', 'exists', 'between', 'like', 'limit',
  'qualify', 'values', 'if', 'return', 'language', 'exec', 'execute',
].join('|')})\\b`, 'gi');

/** Keywords, strings and comments of one line of SQL, as escaped HTML. */
export function highlightSql(text) {
  const out = [];
  const rx = /(--.*$)|('(?:[^']|'')*'?)/g;
  let last = 0;
  let m;
  const kw = (s) => esc(s).replace(SQL_KW, '<span class="kw">$1</span>');
  while ((m = rx.exec(text))) {
    out.push(kw(text.slice(last, m.index)));
    out.push(m[1] ? `<span class="cm">${esc(m[1])}</span>` : `<span class="str">${esc(m[2])}</span>`);
    last = m.index + m[0].length;
    if (!m[0].length) rx.lastIndex += 1;
  }
  out.push(kw(text.slice(last)));
  return out.join('') || ' ';
}

/** Scroll a code block (not the page) so that a line is near its top. */
export function scrollToLine(line) {
  const block = line?.closest('.code');
  if (block) block.scrollTop += line.getBoundingClientRect().top - block.getBoundingClientRect().top - 24;
}

/** Numbered lines, all highlighted or only those in [hlFrom, hlTo]. */
export function codeBlock(lines, first, hlFrom = null, hlTo = null, attrs = {}) {
  const html = lines.map((text, i) => {
    const n = first + i;
    const hl = hlFrom == null || (n >= hlFrom && n <= (hlTo ?? hlFrom));
    return `<div class="ln${hl ? ' hl' : ''}" data-line="${n}"><i>${n}</i><span>${highlightSql(text)}</span></div>`;
  }).join('');
  return h('div.code', { ...attrs, html });
}

// ---------------------------------------------------------------- formula

let formulaSeq = 0;

/** The composed formula of a column from /explain, then every step with its original lines. */
export async function showFormula(env, node) {
  const { ctx } = env;
  const box = $('#detail-formula');
  const raw = node?.raw;
  if (!raw || raw.kind !== 'column') {
    box.replaceChildren(h('div.empty', {}, 'Select a column to see how it is computed.'));
    return;
  }
  const seq = ++formulaSeq;
  box.replaceChildren(h('div.empty', {}, `Explaining ${raw.canonical_id}…`));
  let out;
  try {
    out = await ctx.api.get(`/api/v1/lineage/column/${encodeURIComponent(raw.canonical_id)}/explain`, { project_id: ctx.state.projectId || null });
  } catch (exc) {
    if (seq === formulaSeq) box.replaceChildren(h('div.error-text', {}, `No formula: ${exc.message}`));
    return;
  }
  if (seq !== formulaSeq) return;
  box.replaceChildren(...formulaBlocks(ctx, out));
}

function formulaBlocks(ctx, out) {
  const steps = out.steps || [];
  const blocks = [
    h('h3.node-title', {}, typeof out.column === 'string' ? out.column : out.column?.canonical_id ?? ''),
    out.truncated ? h('div.banner', { 'data-testid': 'formula-truncated' }, 'The walk behind this formula was cut short: some sources are missing.') : null,
    h('div.section-title', {}, 'Formula (temporary tables substituted away)'),
    out.formula ? h('pre.formula', { 'data-testid': 'formula' }, out.formula) : h('div.muted', {}, 'No formula: the column is not computed from other columns.'),
    (out.sources || []).length ? h('div.section-title', {}, `Sources (${out.sources.length})`) : null,
    (out.sources || []).length ? h('div.chips', {}, out.sources.map((s) => h('span.chip', {}, typeof s === 'string' ? s : s.canonical_id ?? s.name ?? JSON.stringify(s)))) : null,
    steps.length ? h('div.section-title', {}, `Steps (${steps.length}), in data-flow order`) : null,
    ...steps.map((s, i) => stepBlock(ctx, s, i)),
  ];
  const alts = out.alternatives || [];
  if (alts.length) {
    blocks.push(h('div.section-title', {}, `Alternative writers (${alts.length})`));
    for (const alt of alts) {
      blocks.push(h('div.alt', {}, alt.formula ? h('pre.formula', {}, alt.formula) : null,
        ...(alt.steps || []).map((s, i) => stepBlock(ctx, s, i))));
    }
  }
  return blocks.filter(Boolean);
}

function stepBlock(ctx, s, i) {
  const where = s.file ? `${s.file}${s.line_start ? `:${s.line_start}–${s.line_end ?? s.line_start}` : ''}` : 'no file';
  const lines = s.source_text != null ? String(s.source_text).split(/\r?\n/) : [];
  return h('div.step', { 'data-testid': 'formula-step', dataset: { file: s.file || '', from: String(s.line_start ?? '') } },
    h('div.step-head', {}, h('span.badge', {}, `${i + 1}`), h('code', {}, s.target || ''),
      s.kind ? h('span.muted.small', {}, ` ${s.kind}`) : null),
    s.expression ? h('div.step-expr', {}, h('code', {}, s.expression)) : null,
    s.file_id ? h('a.step-file', { href: fileHref(ctx, s.file_id, s.line_start, s.line_end), 'data-testid': 'formula-step-link' }, where)
      : h('div.muted.small', {}, where),
    lines.length ? markExpression(codeBlock(lines, s.line_start || 1, null, null, { 'data-testid': 'formula-source' }), s.expression) : null);
}

/** Within a step's statement, the line(s) holding its expression stand out. */
function markExpression(block, expression) {
  const first = String(expression || '').split('\n')[0].trim().toLowerCase();
  if (!first) return block;
  for (const ln of block.querySelectorAll('.ln')) {
    if (ln.textContent.toLowerCase().replace(/\s+/g, ' ').includes(first.replace(/\s+/g, ' '))) ln.classList.add('expr');
  }
  return block;
}

// ---------------------------------------------------------------- impact

let impactSeq = 0;

export async function showImpact(env, target) {
  const { ctx, open } = env;
  const box = $('#detail-impact');
  if (!target) {
    box.replaceChildren(h('div.empty', {}, 'Choose an object to see what breaks downstream.'));
    return;
  }
  const seq = ++impactSeq;
  const objectId = target.object_id ?? target.id;
  const name = target.object_canonical_id || target.canonical_id;
  box.replaceChildren(h('div.empty', {}, `Computing the impact of ${name}…`));
  let out;
  try {
    out = await ctx.api.get(`/api/v1/lineage/impact/${encodeURIComponent(objectId)}`, { depth: 10, project_id: ctx.state.projectId || null });
  } catch (exc) {
    if (seq === impactSeq) box.replaceChildren(h('div.error-text', {}, `Impact unavailable: ${exc.message}`));
    return;
  }
  if (seq !== impactSeq) return;
  const maxHop = Math.max(1, ...Object.values(out.by_hop || {}));
  box.replaceChildren(...[
    h('div.impact-head', {}, h('span.impact-total', { id: 'impact-total' }, fmtNum(out.total)),
      h('span.muted', {}, 'objects downstream of ', h('code', {}, out.root.canonical_id), ' would be affected by a change')),
    h('div.row', {}, h('button.btn.btn-sm', {
      type: 'button', 'data-testid': 'export-impact-csv',
      onclick: () => download(`impact-${fileSafe(out.root.canonical_id)}.csv`, impactCsv(out), 'text/csv'),
    }, 'Export impact CSV')),
    h('div.chips', {}, Object.entries(out.by_kind || {}).map(([k, v]) => h('span.badge', {}, `${v} ${k.replace('_', ' ')}${v > 1 ? 's' : ''}`))),
    h('div.section-title', {}, 'By distance (hops)'),
    h('div.bars', {}, Object.entries(out.by_hop || {}).flatMap(([hop, count]) => [
      h('span.muted', {}, `hop ${hop}`),
      h('div', {}, h('div.b', { style: `width:${(count / maxHop) * 100}%` })),
      h('span.num', {}, String(count))])),
    h('div.section-title', {}, 'Affected objects'),
    ...(out.groups || []).map((g) => h('div.impact-group', {},
      h('h4', {}, `${g.kind.replace('_', ' ')} · hop ${g.hop} (${g.count})`),
      h('div.chips', {}, g.nodes.map((n) => h('button.chip', { type: 'button', dataset: { node: n.canonical_id }, onclick: () => open({ kind: 'node', ref: n.canonical_id }) }, n.canonical_id))))),
    out.total ? null : h('div.empty', {}, 'Nothing downstream: a change here breaks nothing recorded.'),
  ].filter(Boolean));
}
