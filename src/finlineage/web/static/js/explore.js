// Explore: search with suggestions → lineage graph (upstream/downstream/both, depth, table ↔
// column), node definition with the relevant lines highlighted, impact analysis.
import { GraphView } from './graph-view.js';
import { $, $$, debounce, esc, fmtNum, h, on, toast } from './util.js';

let ctx;
let view;
const state = { root: null, dir: 'upstream', gran: 'table', depth: 3, graph: null, selected: null, tab: 'definition' };
const detailCache = new Map();
let loadSeq = 0;
let searchSeq = 0;
let suggestions = [];
let active = -1;

export function init(c) {
  ctx = c;
  view = new GraphView($('#graph'), {
    onSelect: (node) => selectNode(node),
    onOpen: (node) => node && openFromGraphNode(node),
  });
  view.clear();
  bindSearch();
  for (const b of $$('[data-dir]')) b.addEventListener('click', () => setOption('dir', b.dataset.dir));
  for (const b of $$('[data-gran]')) b.addEventListener('click', () => setGranularity(b.dataset.gran));
  const depth = $('#depth');
  depth.addEventListener('input', () => ($('#depth-out').textContent = depth.value));
  depth.addEventListener('change', () => setOption('depth', Number(depth.value)));
  $('#zoom-in').addEventListener('click', () => view.zoomBy(1.25));
  $('#zoom-out').addEventListener('click', () => view.zoomBy(0.8));
  $('#zoom-fit').addEventListener('click', () => view.fit());
  for (const b of $$('.tabs [data-tab]')) b.addEventListener('click', () => setTab(b.dataset.tab));
  on('project-changed', () => detailCache.clear());
}

/** Route params: node=<id|name> or column=<schema.table.column>, dir, depth, gran. */
export function show(_ctx, params = {}) {
  let changed = false;
  if (params.dir && params.dir !== state.dir) (state.dir = params.dir), (changed = true);
  if (params.depth && Number(params.depth) !== state.depth) (state.depth = Number(params.depth)), (changed = true);
  if (params.gran && params.gran !== state.gran) (state.gran = params.gran), (changed = true);
  const root = params.column
    ? { kind: 'column', ref: params.column }
    : params.node
      ? { kind: 'node', ref: params.node }
      : null;
  if (root && (!state.root || root.kind !== state.root.kind || String(root.ref) !== String(state.root.ref))) {
    state.root = root;
    if (root.kind === 'column') state.gran = 'column';
    changed = true;
  }
  syncControls();
  if (changed && state.root) load();
  else if (!state.root) setTimeout(() => $('#search').focus(), 0);
}

function syncControls() {
  for (const b of $$('[data-dir]')) b.classList.toggle('on', b.dataset.dir === state.dir);
  for (const b of $$('[data-gran]')) b.classList.toggle('on', b.dataset.gran === state.gran);
  $('#depth').value = String(state.depth);
  $('#depth-out').textContent = String(state.depth);
}

function setOption(name, value) {
  state[name] = value;
  syncControls();
  if (state.root) load();
}

function setGranularity(gran) {
  if (gran === state.gran) return;
  state.gran = gran;
  if (state.root?.kind === 'column' && gran === 'table') {
    // column → its table
    const ref = state.graph?.root?.object_id ?? String(state.root.ref).split('.').slice(0, -1).join('.');
    state.root = { kind: 'node', ref };
  }
  syncControls();
  if (state.root) load();
}

/** Open a root from elsewhere (search, chat sources, impact list). */
export function open(root) {
  ctx.navigate('explore', {
    [root.kind === 'column' ? 'column' : 'node']: root.ref,
    dir: state.dir,
    depth: state.depth,
    gran: root.kind === 'column' ? 'column' : state.gran,
  });
}

function openFromGraphNode(node) {
  if (node.kind === 'column') open({ kind: 'column', ref: node.name_full || node.key });
  else open({ kind: 'node', ref: node.key });
}

// ---------------------------------------------------------------- search

function bindSearch() {
  const input = $('#search');
  const list = $('#suggestions');
  const run = debounce(async () => {
    const q = input.value.trim();
    const seq = ++searchSeq;
    if (q.length < 2) return hideSuggestions();
    try {
      const page = await ctx.api.get('/api/v1/lineage/search', { q, limit: 8, project_id: ctx.state.projectId || null });
      if (seq !== searchSeq) return;
      renderSuggestions(page.items || [], q);
    } catch (exc) {
      if (seq === searchSeq) renderSuggestions([], q, exc.message);
    }
  }, 160);
  input.addEventListener('input', run);
  input.addEventListener('focus', () => suggestions.length && (list.hidden = false));
  input.addEventListener('blur', () => setTimeout(hideSuggestions, 150));
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (!suggestions.length) return;
      active = (active + (e.key === 'ArrowDown' ? 1 : -1) + suggestions.length) % suggestions.length;
      paintActive();
    } else if (e.key === 'Enter') {
      e.preventDefault();
      const pick = suggestions[active >= 0 ? active : 0];
      if (pick) choose(pick);
      else if (input.value.trim()) {
        const ref = input.value.trim();
        choose({ kind: ref.split('.').length >= 3 ? 'column' : 'node', ref });
      }
    } else if (e.key === 'Escape') hideSuggestions();
  });
  list.addEventListener('mousedown', (e) => {
    const li = e.target.closest('li[data-index]');
    if (li) {
      e.preventDefault();
      choose(suggestions[Number(li.dataset.index)]);
    }
  });
}

function renderSuggestions(hits, q, error) {
  const list = $('#suggestions');
  suggestions = [];
  const rows = [];
  const ql = q.toLowerCase();
  for (const hit of hits) {
    const node = hit.node;
    // a query naming a column puts the column first
    const cols = (hit.columns || []).map((c) => ({ kind: 'column', ref: `${node.canonical_id}.${c}`, label: `${node.canonical_id}.${c}`, objKind: 'column', file: node.file?.path }));
    const obj = { kind: 'node', ref: node.canonical_id, id: node.id, label: node.canonical_id, objKind: node.kind, file: node.file?.path };
    const colFirst = cols.some((c) => c.label.toLowerCase().endsWith(ql) || c.label.toLowerCase().endsWith(`.${ql.split('.').pop()}`));
    rows.push(...(colFirst ? [...cols, obj] : [obj, ...cols]));
  }
  suggestions = rows.slice(0, 14);
  active = suggestions.length ? 0 : -1;
  list.replaceChildren(...suggestions.map((s, i) =>
    h(`li${s.kind === 'column' ? '.col' : ''}`, { role: 'option', dataset: { index: String(i), ref: s.ref, kind: s.kind } },
      h(`span.k.k-${s.objKind}`, {}, s.objKind.replace('_', ' ')),
      h('span.nm', {}, s.label),
      h('span.fl', {}, s.file || ''))));
  if (!suggestions.length) list.append(h('li.muted', {}, error ? `Search failed: ${error}` : 'No matches'));
  list.hidden = false;
  $('#search').setAttribute('aria-expanded', 'true');
  paintActive();
}

function paintActive() {
  $$('#suggestions li[data-index]').forEach((li, i) => li.setAttribute('aria-selected', String(i === active)));
}

function hideSuggestions() {
  $('#suggestions').hidden = true;
  $('#search').setAttribute('aria-expanded', 'false');
}

function choose(s) {
  hideSuggestions();
  $('#search').value = s.label || s.ref;
  if (s.kind === 'column') state.gran = 'column';
  open({ kind: s.kind, ref: s.ref });
}

// ---------------------------------------------------------------- graph

function walkUrl(dir) {
  const r = state.root;
  const ref = encodeURIComponent(r.ref);
  return r.kind === 'column' ? `/api/v1/lineage/column/${ref}/${dir}` : `/api/v1/lineage/node/${ref}/${dir}`;
}

async function fetchGraph() {
  const params = { depth: state.depth, project_id: ctx.state.projectId || null };
  if (state.root.kind === 'node') params.granularity = state.gran;
  const dirs = state.dir === 'both' ? ['upstream', 'downstream'] : [state.dir];
  const parts = await Promise.all(dirs.map((d) => ctx.api.get(walkUrl(d), params)));
  const nodes = new Map();
  const edges = new Map();
  for (const g of parts) {
    for (const n of g.nodes) if (!nodes.has(n.id)) nodes.set(n.id, n);
    for (const e of g.edges) edges.set(e.id, e);
  }
  const first = parts[0];
  return {
    root: first.root,
    roots: first.roots || [],
    granularity: first.granularity,
    nodes: [...nodes.values()],
    edges: [...edges.values()],
    truncated: parts.some((g) => g.truncated),
  };
}

function toViewNodes(g) {
  const rootIds = new Set([g.root?.id, ...(g.roots || []).map((r) => r.id)].filter((x) => x != null));
  return g.nodes.map((n) => {
    const column = n.kind === 'column';
    return {
      id: n.id,
      key: column ? n.canonical_id : n.canonical_id,
      name_full: n.canonical_id,
      label: column ? n.name : n.canonical_id,
      sub: column ? null : `${n.kind.replace('_', ' ')}${n.file ? ` · ${n.file.split('/').pop()}` : ''}`,
      kind: n.kind,
      height: column ? 26 : 40,
      group: column ? n.object_id : null,
      groupLabel: column ? n.object_canonical_id : null,
      root: rootIds.has(n.id),
      title: `${n.canonical_id}\n${n.kind}${column ? ` of ${n.object_kind}` : ''}${n.file ? `\n${n.file}${n.line_start ? `:${n.line_start}-${n.line_end}` : ''}` : ''}\nhop ${n.hop}`,
      raw: n,
    };
  });
}

async function load() {
  const seq = ++loadSeq;
  const title = $('#graph-title');
  const graphEl = $('#graph');
  graphEl.dataset.state = 'loading';
  title.innerHTML = `Loading <code>${esc(state.root.ref)}</code>…`;
  let g;
  try {
    g = await fetchGraph();
  } catch (exc) {
    if (seq !== loadSeq) return;
    if (exc.status === 404 && state.root.kind === 'column') {
      // a three-part name may be db.schema.table rather than schema.table.column
      state.root = { kind: 'node', ref: state.root.ref };
      state.gran = 'table';
      syncControls();
      return load();
    }
    graphEl.dataset.state = 'error';
    view.clear(exc.status === 404 ? `Not found: ${state.root.ref}` : `Could not load the lineage: ${exc.message}`);
    title.textContent = exc.status === 404 ? `“${state.root.ref}” was not found.` : 'Lineage unavailable.';
    if (exc.status !== 404) toast(exc.message, 'bad');
    return;
  }
  if (seq !== loadSeq) return;
  state.graph = g;
  const rootName = g.root?.canonical_id || state.root.ref;
  if (g.root) {
    // canonical form in the address bar and the search box
    $('#search').value = rootName;
  }
  const vnodes = toViewNodes(g);
  const vedges = g.edges.map((e) => ({ id: e.id, source: e.source, target: e.target, kind: e.kind }));
  const dirText = state.dir === 'both' ? 'Upstream and downstream' : state.dir === 'upstream' ? 'Upstream' : 'Downstream';
  title.innerHTML = `${dirText} of <code>${esc(rootName)}</code>`;
  if (!vnodes.length) {
    view.clear('Nothing to draw.');
    graphEl.dataset.state = 'empty';
    return;
  }
  const timing = view.setData(vnodes, vedges, { fit: false });
  $('#graph-meta').textContent = `${fmtNum(vnodes.length)} nodes · ${fmtNum(vedges.length)} edges · ${timing.layers} layers${g.truncated ? ' · truncated' : ''}`;
  graphEl.dataset.state = 'ready';
  graphEl.dataset.root = rootName;
  graphEl.dataset.nodes = String(vnodes.length);
  const rootNode = vnodes.find((n) => n.id === g.root?.id) || vnodes.find((n) => n.root);
  view.frame(rootNode?.id, state.dir);
  if (rootNode) view.select(rootNode.id);
  else selectNode(null);
}

// ---------------------------------------------------------------- detail panel

function setTab(tab) {
  state.tab = tab;
  for (const b of $$('.tabs [data-tab]')) b.classList.toggle('on', b.dataset.tab === tab);
  $('#detail-definition').hidden = tab !== 'definition';
  $('#detail-impact').hidden = tab !== 'impact';
  if (tab === 'impact') loadImpact();
}

async function nodeDetail(id) {
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

async function selectNode(node) {
  state.selected = node;
  const box = $('#detail-definition');
  if (!node) {
    box.replaceChildren(h('div.empty', {}, 'Click a node to see its definition.'));
    return;
  }
  const raw = node.raw;
  const objectId = raw.object_id ?? raw.id;
  const column = raw.kind === 'column' ? raw.name : null;
  box.replaceChildren(h('div.empty', {}, 'Loading…'));
  let d;
  try {
    d = await nodeDetail(objectId);
  } catch (exc) {
    box.replaceChildren(h('div.error-text', {}, `Could not load the definition: ${exc.message}`));
    return;
  }
  if (state.selected !== node) return;
  renderDetail(box, d, node, column);
  if (state.tab === 'impact') loadImpact();
}

function neighbourTerms(node) {
  const g = state.graph;
  const terms = new Set();
  if (!g) return terms;
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  for (const e of g.edges) {
    const other = e.target === node.id ? e.source : e.source === node.id ? e.target : null;
    if (other == null) continue;
    const n = byId.get(other);
    if (n) terms.add(n.kind === 'column' ? n.name : n.name);
  }
  return terms;
}

function renderDetail(box, d, node, column) {
  const start = d.line_start || 1;
  const terms = column ? new Set([column]) : neighbourTerms(node.raw);
  const file = d.file?.path;
  const lines = (d.definition || '').split('\n');
  const rx = terms.size
    ? new RegExp(`(^|[^\\w$#@])(${[...terms].map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})(?![\\w$#@])`, 'i')
    : null;
  let hits = 0;
  const code = lines.map((text, i) => {
    const hl = rx && rx.test(text);
    if (hl) hits += 1;
    const html = highlightSql(text);
    return `<div class="ln${hl ? ' hl' : ''}" data-line="${start + i}"><i>${start + i}</i><span>${hl ? markTerms(html, rx) : html}</span></div>`;
  }).join('');
  const incoming = (state.graph?.edges || []).filter((e) => e.target === node.raw.id).slice(0, 40);
  box.replaceChildren(...[
    h('h3.node-title', { 'data-node': d.canonical_id }, column ? `${d.canonical_id}.${column}` : d.canonical_id),
    h('div.node-meta', {},
      h(`span.badge`, {}, column ? `column of ${d.kind.replace('_', ' ')}` : d.kind.replace('_', ' ')),
      d.dialect ? h('span', {}, d.dialect) : null,
      file ? h('span.file', { title: 'source file' }, `${file}${d.line_start ? `:${d.line_start}–${d.line_end}` : ''}`) : h('span', {}, 'no source file'),
    ),
    h('div.row', {},
      h('button.btn.btn-sm', { type: 'button', onclick: () => open(column ? { kind: 'column', ref: `${d.canonical_id}.${column}` } : { kind: 'node', ref: d.canonical_id }) }, 'Centre lineage here'),
      h('button.btn.btn-sm.btn-ghost', { type: 'button', onclick: () => setTab('impact') }, 'What breaks downstream?')),
    h('div.section-title', {}, `Definition${hits ? ` · ${hits} relevant line${hits > 1 ? 's' : ''} highlighted` : ''}`),
    d.definition ? h('div.code', { id: 'definition-code', html: code }) : h('div.muted', {}, 'No definition stored for this object (declared outside the ingested SQL).'),
    d.columns?.length ? h('div.section-title', {}, `Columns (${d.columns.filter((c) => c.name !== '*').length})`) : null,
    d.columns?.length ? h('div.chips', {}, d.columns.filter((c) => c.name !== '*').map((c) =>
      h(`button.chip${c.name === column ? '.on' : ''}`, { type: 'button', title: c.data_type || '', onclick: () => open({ kind: 'column', ref: `${d.canonical_id}.${c.name}` }) }, c.name))) : null,
    incoming.length ? h('div.section-title', {}, 'How it is derived (in this graph)') : null,
    incoming.length ? h('ul.evidence', {}, incoming.map((e) => h('li', {},
      h('code', {}, e.source_canonical_id), e.kind === 'indirect' ? h('span.muted', {}, ' (filter/join)') : null,
      e.expression ? h('div', {}, h('code', {}, e.expression)) : null,
      h('div.muted', {}, `${e.file || ''}${e.line_start ? `:${e.line_start}–${e.line_end}` : ''}${e.process ? ` · via ${e.process}` : ''}`)))) : null,
    ...neighbourChips('Reads', d.reads),
    ...neighbourChips('Feeds', d.writes),
  ].filter(Boolean));
  box.querySelector('.ln.hl')?.scrollIntoView({ block: 'nearest' });
}

function markTerms(html, rx) {
  const global = new RegExp(rx.source, 'gi');
  return html.split(/(<[^>]+>)/).map((part) => (part.startsWith('<') ? part : part.replace(global, '$1<mark>$2</mark>'))).join('');
}

function neighbourChips(title, items) {
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

function highlightSql(text) {
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

// ---------------------------------------------------------------- impact

async function loadImpact() {
  const box = $('#detail-impact');
  const target = state.selected?.raw ?? state.graph?.root;
  if (!target) {
    box.replaceChildren(h('div.empty', {}, 'Choose an object to see what breaks downstream.'));
    return;
  }
  const objectId = target.object_id ?? target.id;
  const name = target.object_canonical_id || target.canonical_id;
  box.replaceChildren(h('div.empty', {}, `Computing the impact of ${name}…`));
  let out;
  try {
    out = await ctx.api.get(`/api/v1/lineage/impact/${encodeURIComponent(objectId)}`, { depth: 10, project_id: ctx.state.projectId || null });
  } catch (exc) {
    box.replaceChildren(h('div.error-text', {}, `Impact unavailable: ${exc.message}`));
    return;
  }
  const maxHop = Math.max(1, ...Object.values(out.by_hop || {}));
  box.replaceChildren(...[
    h('div.impact-head', {}, h('span.impact-total', { id: 'impact-total' }, fmtNum(out.total)),
      h('span.muted', {}, `objects downstream of `, h('code', {}, out.root.canonical_id), ` would be affected by a change`)),
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
