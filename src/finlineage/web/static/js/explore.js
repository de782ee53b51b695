// Explore: search with suggestions (labelled by project) → lineage graph (upstream/downstream/both,
// depth 1…12 or all, table ↔ column). Large answers open collapsed by hop; any node expands or
// collapses by one hop either way; find in the graph; focus the paths between two nodes; exports
// of what is on screen; side panel with definition, formula (original source lines) and impact.
import { clearDetailCache, showDefinition, showFormula, showImpact } from './explore-detail.js';
import { download, fileSafe, graphCsv, openLineageOnScreen, svgToPng } from './exports.js';
import { LineageModel } from './graph-model.js';
import { GraphView } from './graph-view.js';
import { $, $$, debounce, esc, fmtNum, h, on, toast } from './util.js';

/** The slider's last position means "all" (the full closure, capped by the server). */
const DEPTH_ALL = 13;
/** Above this many nodes an answer opens collapsed by hop. */
export const RENDER_CAP = 2000;

let ctx;
let view;
const state = { root: null, dir: 'upstream', gran: 'table', depth: 'all', model: null, answer: null, selected: null, tab: 'definition', framed: false };
let loadSeq = 0;
let searchSeq = 0;
let suggestions = [];
let active = -1;
let found = [];
let foundAt = -1;

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
  depth.addEventListener('input', () => ($('#depth-out').textContent = depthLabel(sliderDepth())));
  depth.addEventListener('change', () => setOption('depth', sliderDepth()));
  $('#zoom-in').addEventListener('click', () => view.zoomBy(1.25));
  $('#zoom-out').addEventListener('click', () => view.zoomBy(0.8));
  $('#zoom-fit').addEventListener('click', () => view.fit());
  for (const b of $$('.tabs [data-tab]')) b.addEventListener('click', () => setTab(b.dataset.tab));
  $('#graph-find').addEventListener('input', debounce(() => find($('#graph-find').value), 120));
  $('#graph-find').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      nextFound();
    }
  });
  $('#path-form').addEventListener('submit', (e) => {
    e.preventDefault();
    focusPath($('#path-from').value, $('#path-to').value);
  });
  $('#path-clear').addEventListener('click', () => clearFocus());
  $('#export-csv').addEventListener('click', exportCsv);
  $('#export-svg').addEventListener('click', exportSvg);
  $('#export-png').addEventListener('click', exportPng);
  $('#export-openlineage').addEventListener('click', exportOpenLineage);
  on('project-changed', () => clearDetailCache());
}

const sliderDepth = () => (Number($('#depth').value) >= DEPTH_ALL ? 'all' : Number($('#depth').value));
const depthLabel = (d) => (d === 'all' ? 'all' : String(d));
const parseDepth = (raw) => (raw === 'all' ? 'all' : Math.max(1, Math.min(DEPTH_ALL - 1, Number(raw) || 3)));

/** Route params: node=<id|name> or column=<schema.table.column>, dir, depth (n or all), gran. */
export function show(_ctx, params = {}) {
  let changed = false;
  const root = params.column ? { kind: 'column', ref: params.column } : params.node ? { kind: 'node', ref: params.node } : null;
  const dir = params.dir || state.dir;
  // depth `all` is the default for a column's upstream lineage
  const depth = params.depth ? parseDepth(params.depth) : root?.kind === 'column' && dir === 'upstream' ? 'all' : state.depth;
  if (dir !== state.dir) (state.dir = dir), (changed = true);
  if (depth !== state.depth) (state.depth = depth), (changed = true);
  if (params.gran && params.gran !== state.gran) (state.gran = params.gran), (changed = true);
  if (state.projectOfAnswer !== ctx.state.projectId) changed = true;
  if (root && (!state.root || root.kind !== state.root.kind || String(root.ref) !== String(state.root.ref))) {
    state.root = root;
    if (root.kind === 'column') state.gran = 'column';
    changed = true;
  }
  syncControls();
  if (state.root && !params.depth) ctx.rewrite('explore', { ...params, ...pick(params) });
  if (changed && state.root) load();
  else if (!state.root) setTimeout(() => $('#search').focus(), 0);
}

function syncControls() {
  for (const b of $$('[data-dir]')) b.classList.toggle('on', b.dataset.dir === state.dir);
  for (const b of $$('[data-gran]')) b.classList.toggle('on', b.dataset.gran === state.gran);
  $('#depth').value = String(state.depth === 'all' ? DEPTH_ALL : state.depth);
  $('#depth').setAttribute('aria-valuetext', depthLabel(state.depth));
  $('#depth-out').textContent = depthLabel(state.depth);
}

function params(extra = {}, root = state.root, gran = state.gran) {
  return {
    [root.kind === 'column' ? 'column' : 'node']: root.ref,
    dir: state.dir,
    depth: state.depth,
    gran: root.kind === 'column' ? 'column' : gran,
    ...extra,
  };
}

/** The walk's parameters as they belong in the address. */
function pick(given) {
  return { ...params(), ...(given.project !== undefined ? { project: given.project } : {}) };
}

/** Controls change the address; show() reads it back and reloads what changed. */
function setOption(name, value) {
  if (!state.root) {
    state[name] = value;
    syncControls();
    return;
  }
  ctx.navigate('explore', params({ [name]: value }));
}

function setGranularity(gran) {
  if (gran === state.gran) return;
  if (!state.root) {
    state.gran = gran;
    syncControls();
    return;
  }
  let root = state.root;
  if (root.kind === 'column' && gran === 'table') {
    // column → its table
    root = { kind: 'node', ref: state.answer?.root?.object_canonical_id ?? String(root.ref).split('.').slice(0, -1).join('.') };
  }
  const next = params({}, root, gran);
  if (root.kind === 'node') delete next.column;
  ctx.navigate('explore', next);
}

/** Open a root from elsewhere (search, chat sources, impact list, detail panel). */
export function open(root, project) {
  const column = root.kind === 'column';
  const dir = state.dir;
  ctx.navigate('explore', {
    [column ? 'column' : 'node']: root.ref,
    dir,
    depth: column && dir === 'upstream' ? 'all' : state.depth,
    gran: column ? 'column' : state.gran,
    ...(project != null ? { project } : {}),
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
  const rows = [];
  const ql = q.toLowerCase();
  for (const hit of hits) {
    const node = hit.node;
    const base = { project: node.project_id, projectName: ctx.projectName(node.project_id), file: node.file?.path };
    const cols = (hit.columns || []).map((c) => ({ ...base, kind: 'column', ref: `${node.canonical_id}.${c}`, label: `${node.canonical_id}.${c}`, objKind: 'column' }));
    const obj = { ...base, kind: 'node', ref: node.canonical_id, id: node.id, label: node.canonical_id, objKind: node.kind };
    // a query naming a column puts the column first
    const colFirst = cols.some((c) => c.label.toLowerCase().endsWith(ql) || c.label.toLowerCase().endsWith(`.${ql.split('.').pop()}`));
    rows.push(...(colFirst ? [...cols, obj] : [obj, ...cols]));
  }
  suggestions = rows.slice(0, 14);
  active = suggestions.length ? 0 : -1;
  list.replaceChildren(...suggestions.map((s, i) =>
    h(`li${s.kind === 'column' ? '.col' : ''}`, { role: 'option', dataset: { index: String(i), ref: s.ref, kind: s.kind, project: String(s.project) } },
      h(`span.k.k-${s.objKind}`, {}, s.objKind.replace('_', ' ')),
      h('span.nm', {}, s.label),
      h('span.pj', { title: 'project' }, s.projectName),
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
  open({ kind: s.kind, ref: s.ref }, s.project != null ? String(s.project) : undefined);
}

// ---------------------------------------------------------------- loading

function walkUrl(kind, ref, dir) {
  const r = encodeURIComponent(ref);
  return kind === 'column' ? `/api/v1/lineage/column/${r}/${dir}` : `/api/v1/lineage/node/${r}/${dir}`;
}

/** Deepest numeric depth a server without `depth=all` accepts (the page says when it falls back). */
const FALLBACK_DEPTH = 50;

async function fetchWalk(kind, ref, dirs, depth) {
  const q = { depth, project_id: ctx.state.projectId || null };
  if (kind === 'node') q.granularity = state.gran;
  let parts;
  let fallback = false;
  try {
    parts = await Promise.all(dirs.map((d) => ctx.api.get(walkUrl(kind, ref, d), q)));
  } catch (exc) {
    if (!(depth === 'all' && exc.status === 422)) throw exc;
    q.depth = FALLBACK_DEPTH;
    fallback = true;
    parts = await Promise.all(dirs.map((d) => ctx.api.get(walkUrl(kind, ref, d), q)));
  }
  const nodes = new Map();
  const edges = new Map();
  for (const g of parts) {
    for (const n of g.nodes) if (!nodes.has(n.id)) nodes.set(n.id, n);
    for (const e of g.edges) edges.set(e.id, e);
  }
  return {
    root: parts[0].root,
    roots: parts[0].roots || [],
    nodes: [...nodes.values()],
    edges: [...edges.values()],
    truncated: parts.some((g) => g.truncated),
    omitted: parts.reduce((sum, g) => sum + (g.omitted || 0), 0),
    depthFallback: fallback ? FALLBACK_DEPTH : null,
  };
}

async function load() {
  const seq = ++loadSeq;
  state.projectOfAnswer = ctx.state.projectId; // the project asked (a switch to another reloads)
  const graphEl = $('#graph');
  graphEl.dataset.state = 'loading';
  $('#graph-title').innerHTML = `Loading <code>${esc(state.root.ref)}</code>…`;
  const dirs = state.dir === 'both' ? ['upstream', 'downstream'] : [state.dir];
  let g;
  try {
    g = await fetchWalk(state.root.kind, state.root.ref, dirs, state.depth);
  } catch (exc) {
    if (seq !== loadSeq) return;
    if (exc.status === 409 && exc.details?.candidates?.length) {
      // the name exists in several projects: ask which one
      graphEl.dataset.state = 'choosing';
      const pid = await ctx.chooseProject(exc.details.candidates, state.root.ref);
      if (pid != null) return ctx.navigate('explore', params({ project: pid }));
      graphEl.dataset.state = 'error';
      view.clear(`“${state.root.ref}” exists in several projects: choose one.`);
      return;
    }
    if (exc.status === 404 && ctx.state.projectId && (await openElsewhere(state.root, dirs[0]))) return;
    if (exc.status === 404 && state.root.kind === 'column') {
      // a three-part name may be db.schema.table rather than schema.table.column
      state.root = { kind: 'node', ref: state.root.ref };
      state.gran = 'table';
      syncControls();
      return load();
    }
    graphEl.dataset.state = 'error';
    view.clear(exc.status === 404 ? `Not found: ${state.root.ref}` : `Could not load the lineage: ${exc.message}`);
    $('#graph-title').textContent = exc.status === 404 ? `“${state.root.ref}” was not found.` : 'Lineage unavailable.';
    if (exc.status !== 404) toast(exc.message, 'bad');
    return;
  }
  if (seq !== loadSeq) return;
  state.answer = g;
  const rootIds = [g.root?.id, ...(g.roots || []).map((r) => r.id)].filter((x) => x != null);
  state.model = new LineageModel(g.nodes, g.edges, rootIds, state.dir);
  state.model.cap = RENDER_CAP;
  if (state.model.nodes.size > RENDER_CAP) state.model.maxHop = state.model.hopLimitFor(RENDER_CAP);
  const rootName = g.root?.canonical_id || state.root.ref;
  if (g.root) $('#search').value = rootName;
  const dirText = state.dir === 'both' ? 'Upstream and downstream' : state.dir === 'upstream' ? 'Upstream' : 'Downstream';
  $('#graph-title').innerHTML = `${dirText} of <code>${esc(rootName)}</code>`;
  graphEl.dataset.root = rootName;
  graphEl.dataset.depth = String(state.depth);
  state.framed = false;
  state.selected = null;
  render();
}

/** Not in this project: open it in the one project that has it, or let the user choose. */
async function openElsewhere(root, dir) {
  const q = { depth: 1, project_id: null };
  if (root.kind === 'node') q.granularity = state.gran;
  try {
    const g = await ctx.api.get(walkUrl(root.kind, root.ref, dir), q);
    const pid = g.root?.project_id ?? g.roots?.[0]?.project_id;
    if (pid == null || String(pid) === ctx.state.projectId) return false;
    toast(`“${root.ref}” is in project ${ctx.projectName(pid)}: opened there.`);
    ctx.navigate('explore', params({ project: String(pid) }));
    return true;
  } catch (exc) {
    if (exc.status !== 409 || !exc.details?.candidates?.length) return false;
    const pid = await ctx.chooseProject(exc.details.candidates, root.ref);
    if (pid == null) return false;
    ctx.navigate('explore', params({ project: pid }));
    return true;
  }
}

// ---------------------------------------------------------------- drawing what is on screen

function toViewNode(n, level) {
  const column = n.kind === 'column';
  const hop = level.get(n.id);
  return {
    id: n.id,
    key: n.canonical_id,
    name_full: n.canonical_id,
    label: column ? n.name : n.canonical_id,
    sub: column ? null : `${n.kind.replace('_', ' ')}${n.file ? ` · ${n.file.split('/').pop()}` : ''}`,
    kind: n.kind,
    height: column ? 26 : 40,
    group: column ? n.object_id : null,
    groupLabel: column ? n.object_canonical_id : null,
    root: state.model.roots.includes(n.id),
    title: `${n.canonical_id}\n${n.kind}${column ? ` of ${n.object_kind}` : ''}${n.file ? `\n${n.file}${n.line_start ? `:${n.line_start}-${n.line_end}` : ''}` : ''}${hop != null ? `\nhop ${hop}` : ''}`,
    raw: n,
  };
}

function edgeTitle(e) {
  return `${e.source_canonical_id} → ${e.target_canonical_id}\n${e.kind}${e.subtype ? ` · ${e.subtype}` : ''} · ${e.status || 'observed'}${e.expression ? `\n${e.expression}` : ''}`;
}

function render() {
  const model = state.model;
  const graphEl = $('#graph');
  const { nodes, edges, level, capped } = model.visible();
  state.onScreen = { nodes, edges, level, capped };
  if (!nodes.length) {
    view.clear('Nothing to draw.');
    graphEl.dataset.state = 'empty';
    return;
  }
  const vnodes = nodes.map((n) => toViewNode(n, level));
  const vedges = edges.map((e) => ({ id: e.id, source: e.source, target: e.target, kind: e.kind, status: e.status, title: edgeTitle(e) }));
  const keep = state.selected?.id;
  const timing = view.setData(vnodes, vedges, { fit: false });
  const total = model.nodes.size;
  $('#graph-meta').textContent = `${fmtNum(vnodes.length)}${vnodes.length < total ? ` of ${fmtNum(total)}` : ''} nodes · ${fmtNum(vedges.length)} edges · ${timing.layers} layers`;
  graphEl.dataset.state = 'ready';
  graphEl.dataset.nodes = String(vnodes.length);
  graphEl.dataset.total = String(total);
  graphEl.dataset.focus = model.focus ? 'path' : '';
  renderBanner(vnodes.length, total);
  renderHops();
  $('#graph-names').replaceChildren(...nodes.slice(0, 3000).map((n) => h('option', { value: n.canonical_id })));
  const rootNode = vnodes.find((n) => n.root);
  if (keep != null && vnodes.some((n) => n.id === keep)) {
    view.select(keep, { notify: false });
    view.focus(keep);
    renderActions();
  } else {
    if (!state.framed) view.frame(rootNode?.id, state.dir);
    if (rootNode) view.select(rootNode.id);
    else selectNode(null);
  }
  state.framed = true;
  if ($('#graph-find').value.trim()) find($('#graph-find').value, false);
}

function renderBanner(shown, total) {
  const banner = $('#graph-banner');
  const g = state.answer;
  const notes = [];
  if (g.truncated) {
    notes.push(`This answer is truncated: the server stopped at its node limit${g.omitted ? ` and left out ${fmtNum(g.omitted)} node${g.omitted > 1 ? 's' : ''}` : ''}. Narrow the depth or start from a nearer node.`);
  }
  if (g.depthFallback) notes.push(`This server does not accept depth “all”: showing ${g.depthFallback} hops.`);
  if (!state.model.focus && shown < total && Number.isFinite(state.model.maxHop)) {
    notes.push(`Large answer: showing hops 0–${state.model.maxHop} (${fmtNum(shown)} of ${fmtNum(total)} nodes). Expand by hop below or per node.`);
  } else if (state.onScreen.capped) {
    notes.push(`Showing the nearest ${fmtNum(shown)} of ${fmtNum(total)} nodes (the page draws at most ${fmtNum(RENDER_CAP)} at once).`);
  }
  banner.hidden = !notes.length;
  banner.textContent = notes.join(' ');
  banner.dataset.truncated = String(!!g.truncated);
}

function renderHops() {
  const model = state.model;
  const counts = model.hopCounts();
  const box = $('#hop-counts');
  const limit = model.maxHop;
  box.replaceChildren(
    h('span.muted.small', {}, 'per hop:'),
    ...counts.map(([hop, count]) => h(`button.hop${hop <= limit ? '.on' : ''}`, {
      type: 'button',
      'data-testid': 'hop-count',
      dataset: { hop: String(hop), count: String(count) },
      title: hop ? `show hops 0–${hop}` : 'the root',
      onclick: () => setHopLimit(hop),
    }, `${hop}: ${fmtNum(count)}`)),
    counts.length > 1 ? h(`button.hop${limit >= model.deepest ? '.on' : ''}`, { type: 'button', dataset: { hop: 'all' }, onclick: () => setHopLimit(Infinity) }, 'all') : null,
  );
}

/** Show hops 0…hop (per-node expansions and collapses start over). */
function setHopLimit(hop) {
  state.model.resetExpansions();
  state.model.focus = null;
  state.model.maxHop = hop === 0 ? 0 : hop;
  $('#path-clear').hidden = true;
  render();
}

// ---------------------------------------------------------------- selection, expand and collapse

async function selectNode(node) {
  state.selected = node;
  renderActions();
  const env = detailEnv(node);
  showDefinition(env, node);
  if (state.tab === 'formula') showFormula(env, node);
  if (state.tab === 'impact') showImpact(env, node?.raw ?? state.answer?.root);
}

function detailEnv(node) {
  return {
    ctx,
    open,
    nodes: state.onScreen?.nodes || [],
    edges: state.onScreen?.edges || [],
    isCurrent: () => state.selected === node,
  };
}

function setTab(tab) {
  state.tab = tab;
  for (const b of $$('.tabs [data-tab]')) b.classList.toggle('on', b.dataset.tab === tab);
  for (const name of ['definition', 'formula', 'impact']) $(`#detail-${name}`).hidden = tab !== name;
  const env = detailEnv(state.selected);
  if (tab === 'formula') showFormula(env, state.selected);
  if (tab === 'impact') showImpact(env, state.selected?.raw ?? state.answer?.root);
}

function renderActions() {
  const box = $('#node-actions');
  const node = state.selected;
  if (!node || !state.model) {
    box.hidden = true;
    return;
  }
  const shown = new Set((state.onScreen?.nodes || []).map((n) => n.id));
  const hidden = state.model.hiddenAround(node.id, shown);
  const act = (label, testid, fn, title) => h('button.btn.btn-sm.btn-ghost', { type: 'button', 'data-testid': testid, title, onclick: fn }, label);
  box.hidden = false;
  box.replaceChildren(
    h('span.small.muted', {}, node.name_full),
    act(`↑ expand${hidden.up ? ` (${hidden.up})` : ''}`, 'expand-up', () => expand(node, 'up'), 'show one more hop upstream of this node'),
    act('↑ collapse', 'collapse-up', () => collapse(node, 'up'), 'hide what is upstream of this node'),
    act(`↓ expand${hidden.down ? ` (${hidden.down})` : ''}`, 'expand-down', () => expand(node, 'down'), 'show one more hop downstream of this node'),
    act('↓ collapse', 'collapse-down', () => collapse(node, 'down'), 'hide what is downstream of this node'),
    act('path from', 'path-from', () => ($('#path-from').value = node.name_full), 'start of a path to focus'),
    act('path to', 'path-to', () => ($('#path-to').value = node.name_full), 'end of a path to focus'),
    act('centre here', 'recentre', () => openFromGraphNode(node), 'make this node the root'),
  );
}

async function expand(node, d) {
  const model = state.model;
  const shown = new Set((state.onScreen?.nodes || []).map((n) => n.id));
  if (!model.hiddenAround(node.id, shown)[d]) {
    // nothing more in this answer: ask the server for one hop from this node
    const raw = node.raw;
    const kind = raw.kind === 'column' ? 'column' : 'node';
    const ref = kind === 'column' ? raw.canonical_id : raw.id;
    try {
      const g = await fetchWalk(kind, ref, [d === 'up' ? 'upstream' : 'downstream'], 1);
      model.merge(g.nodes, g.edges);
    } catch (exc) {
      toast(`Could not expand: ${exc.message}`, 'bad');
      return;
    }
  }
  model.focus = null;
  model.expand(node.id, d);
  render();
}

function collapse(node, d) {
  state.model.collapse(node.id, d);
  render();
}

// ---------------------------------------------------------------- find, focus a path

function find(text, jump = true) {
  const model = state.model;
  const out = $('#graph-find-out');
  if (!model || !text.trim()) {
    found = [];
    view.mark(null);
    out.textContent = '';
    return;
  }
  found = model.find(text);
  const shown = new Set((state.onScreen?.nodes || []).map((n) => n.id));
  const visible = found.filter((id) => shown.has(id));
  view.mark(new Set(visible));
  out.textContent = found.length ? `${visible.length} found${found.length > visible.length ? ` (+${found.length - visible.length} hidden)` : ''}` : 'no match';
  out.dataset.count = String(found.length);
  foundAt = -1;
  if (jump && visible.length === 1) nextFound();
}

function nextFound() {
  if (!found.length) return;
  foundAt = (foundAt + 1) % found.length;
  const id = found[foundAt];
  const shown = new Set((state.onScreen?.nodes || []).map((n) => n.id));
  if (!shown.has(id)) {
    state.model.focus = null;
    state.model.reveal(id);
    render();
    find($('#graph-find').value, false);
  }
  view.focus(id);
  view.select(id);
}

function byName(text) {
  const t = text.trim().toLowerCase();
  for (const n of state.model?.nodes.values() || []) if (String(n.canonical_id).toLowerCase() === t) return n.id;
  return null;
}

function focusPath(fromText, toText) {
  if (!state.model) return;
  const a = byName(fromText);
  const b = byName(toText);
  if (a == null || b == null) {
    toast(`Not in this graph: ${a == null ? fromText : toText}`, 'bad');
    return;
  }
  const ids = state.model.pathBetween(a, b);
  if (!ids) {
    toast(`No data-flow path between ${fromText} and ${toText} in this graph.`, 'bad');
    return;
  }
  state.model.focus = ids;
  $('#path-clear').hidden = false;
  render();
}

function clearFocus() {
  state.model.focus = null;
  $('#path-clear').hidden = true;
  render();
}

// ---------------------------------------------------------------- exports of what is on screen

function baseName() {
  return fileSafe(`lineage-${state.answer?.root?.canonical_id || state.root?.ref || 'graph'}-${state.dir}`);
}

function exportCsv() {
  if (!state.onScreen) return toast('Draw a graph first.', 'bad');
  const { nodes, edges, level } = state.onScreen;
  download(`${baseName()}.csv`, graphCsv(nodes, edges, level), 'text/csv');
}

function exportSvg() {
  const svg = view.toSvg();
  if (!svg) return toast('Draw a graph first.', 'bad');
  download(`${baseName()}.svg`, svg, 'image/svg+xml');
}

async function exportPng() {
  const svg = view.toSvg();
  if (!svg) return toast('Draw a graph first.', 'bad');
  try {
    download(`${baseName()}.png`, await svgToPng(svg));
  } catch (exc) {
    toast(`PNG export failed: ${exc.message}`, 'bad');
  }
}

async function exportOpenLineage() {
  if (!state.onScreen) return toast('Draw a graph first.', 'bad');
  const objects = new Set(state.onScreen.nodes.map((n) => (n.kind === 'column' ? n.object_canonical_id : n.canonical_id)).filter(Boolean));
  let events;
  try {
    events = await ctx.api.get('/api/v1/export', { format: 'openlineage', project_id: ctx.state.projectId || null });
  } catch (exc) {
    toast(`OpenLineage export failed: ${exc.message}`, 'bad');
    return;
  }
  const picked = openLineageOnScreen(typeof events === 'string' ? JSON.parse(events) : events, objects);
  download(`${baseName()}.openlineage.json`, `${JSON.stringify(picked, null, 2)}\n`, 'application/json');
}
