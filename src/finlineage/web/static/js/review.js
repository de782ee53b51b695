// Review: proposed edges (maker-checker). Each item shows source, target, note and maker; a
// reviewer approves or rejects with a comment; the maker's own items are shown but cannot be
// approved (the API enforces it, the page says so up front); history per edge.
import { $, emit, fmtDateTime, h, on, toast } from './util.js';

let ctx;
let me = null;
let seq = 0;

export function init(c) {
  ctx = c;
  $('#propose-form').addEventListener('submit', (e) => {
    e.preventDefault();
    propose();
  });
  on('project-changed', () => ctx.state.current === 'review' && load());
}

export function show() {
  load();
}

const GRANULARITIES = ['table', 'column'];

async function whoAmI() {
  if (me) return me;
  try {
    me = await ctx.api.get('/api/v1/auth/me');
  } catch {
    me = { name: null, role: null };
  }
  return me;
}

async function load() {
  const mine = ++seq;
  const list = $('#review-list');
  const project = ctx.state.projectId || null;
  let items;
  try {
    const [who, ...pages] = await Promise.all([
      whoAmI(),
      ...GRANULARITIES.map((g) => ctx.api.get('/api/v1/lineage/edges', { status: 'proposed', granularity: g, project_id: project, limit: 500 })),
    ]);
    me = who;
    items = pages.flatMap((p, i) => (p.items || []).map((e) => ({ ...e, granularity: e.granularity || GRANULARITIES[i] })));
  } catch (exc) {
    if (mine === seq) list.replaceChildren(h('li.error-text', {}, `Proposed edges unavailable: ${exc.message}`));
    return;
  }
  if (mine !== seq) return;
  items.sort((a, b) => String(a.created_at || '').localeCompare(String(b.created_at || '')));
  $('#review-count').textContent = `${items.length} waiting`;
  list.replaceChildren(...items.map(item));
  if (!items.length) list.append(h('li.empty', {}, 'Nothing waiting for review in this project.'));
}

function item(e) {
  const own = e.can_review === false || (me?.name && e.created_by === me.name);
  const comment = h('textarea.review-comment', { rows: 2, maxlength: 2000, placeholder: 'Comment (why)', 'aria-label': 'Review comment' });
  const history = h('ol.history', { hidden: true });
  const decide = (decision) => review(e, decision, comment.value.trim());
  return h('li.review-item', { 'data-testid': 'review-item', dataset: { id: String(e.id), granularity: e.granularity, own: String(!!own) } },
    h('div.review-edge', {},
      h('code.src', {}, e.source_canonical_id), h('span.arrow', {}, '→'), h('code.tgt', {}, e.target_canonical_id)),
    h('div.review-meta', {},
      h('span.badge', {}, e.granularity), h('span.badge', {}, e.kind || 'direct'),
      h('span.maker', {}, `proposed by ${e.created_by || 'unknown'}`),
      e.created_at ? h('span.muted', { title: e.created_at }, fmtDateTime(e.created_at)) : null),
    h('p.note', {}, e.note || h('span.muted', {}, 'no note')),
    own ? h('div.muted.small.own-note', {}, 'You proposed this edge: another person must review it.') : null,
    comment,
    h('div.row', {},
      h('button.btn.btn-primary.btn-sm', { type: 'button', 'data-testid': 'approve', disabled: own, onclick: () => decide('approve') }, 'Approve'),
      h('button.btn.btn-danger.btn-sm', { type: 'button', 'data-testid': 'reject', disabled: own, onclick: () => decide('reject') }, 'Reject'),
      h('button.btn.btn-ghost.btn-sm', { type: 'button', 'data-testid': 'history', onclick: () => toggleHistory(e, history) }, 'History')),
    history);
}

async function review(e, decision, comment) {
  try {
    await ctx.api.post(`/api/v1/lineage/edges/${encodeURIComponent(e.id)}/review`, { decision, comment: comment || null },
      { granularity: e.granularity });
    toast(`Edge ${decision === 'approve' ? 'approved' : 'rejected'}: ${e.source_canonical_id} → ${e.target_canonical_id}`);
    emit('activity-changed');
    load();
  } catch (exc) {
    toast(exc.status === 403 ? `Not allowed: ${exc.message}` : `Review failed: ${exc.message}`, 'bad');
  }
}

async function toggleHistory(e, box) {
  if (!box.hidden) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  box.replaceChildren(h('li.muted', {}, 'Loading…'));
  try {
    const out = await ctx.api.get(`/api/v1/lineage/edges/${encodeURIComponent(e.id)}/history`, { granularity: e.granularity });
    const events = Array.isArray(out) ? out : out.items || out.events || [];
    box.replaceChildren(...events.map((ev) => h('li', { dataset: { action: ev.action || '' } },
      h('span.muted', { title: ev.ts || '' }, fmtDateTime(ev.ts || ev.created_at)), ' ',
      h('b', {}, ev.action || ev.status || 'event'), ` by ${ev.actor || ev.created_by || 'unknown'}`,
      ev.comment ? h('span', {}, ` — “${ev.comment}”`) : null)));
    if (!events.length) box.append(h('li.muted', {}, 'No history recorded.'));
  } catch (exc) {
    box.replaceChildren(h('li.error-text', {}, `History unavailable: ${exc.message}`));
  }
}

async function propose() {
  const out = $('#propose-out');
  const source = $('#propose-source').value.trim();
  const target = $('#propose-target').value.trim();
  if (!source || !target) return;
  const granularity = source.split('.').length >= 3 && target.split('.').length >= 3 ? 'column' : 'table';
  try {
    await ctx.api.post('/api/v1/lineage/edges', {
      project_id: ctx.state.projectId ? Number(ctx.state.projectId) : null,
      granularity,
      source,
      target,
      kind: $('#propose-kind').value,
      note: $('#propose-note').value.trim() || null,
    });
    out.textContent = `Proposed: ${source} → ${target}`;
    $('#propose-note').value = '';
    emit('activity-changed');
    load();
  } catch (exc) {
    out.textContent = `Could not propose: ${exc.message}`;
  }
}
