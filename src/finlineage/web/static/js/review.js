// Review: proposed edges (maker-checker). Each item shows source, target, note and maker; a
// reviewer approves or rejects with a comment; the maker's own items are shown but cannot be
// approved (the API enforces it, the page says so up front); history per edge.
import { $, emit, fmtDateTime, h, on, toast } from './util.js';

let ctx;
let seq = 0;

export function init(c) {
  ctx = c;
  $('#propose-form').addEventListener('submit', (e) => {
    e.preventDefault();
    propose();
  });
  on('project-changed', () => ctx.state.current === 'review' && load());
  on('socket-live', () => ctx.state.current === 'review' && load()); // who I am arrives with the ack
}

export function show() {
  load();
}

/** Who this page acts as: the live socket's acknowledgement names it (null until connected). */
const me = () => ctx.state.ack?.principal ?? null;

async function load() {
  const mine = ++seq;
  const list = $('#review-list');
  const project = ctx.state.projectId;
  if (!project) {
    list.replaceChildren(h('li.empty', {}, 'Choose a project to review its proposed edges.'));
    return;
  }
  let queue;
  try {
    queue = await ctx.api.get('/api/v1/lineage/reviews', { project_id: project });
  } catch (exc) {
    if (mine === seq) list.replaceChildren(h('li.error-text', {}, `Proposed edges unavailable: ${exc.message}`));
    return;
  }
  if (mine !== seq) return;
  const proposed = queue.proposed || [];
  const orphaned = (queue.orphaned || []).filter((e) => !proposed.some((p) => p.ref === e.ref));
  $('#review-count').textContent = `${proposed.length} waiting${orphaned.length ? ` · ${orphaned.length} orphaned` : ''}`;
  list.replaceChildren(...proposed.map(item), ...orphaned.map(item));
  if (!proposed.length && !orphaned.length) list.append(h('li.empty', {}, 'Nothing waiting for review in this project.'));
}

function item(e) {
  const own = me() != null && e.created_by === me();
  const reviewable = e.status === 'proposed';
  const comment = h('textarea.review-comment', { rows: 2, maxlength: 4000, placeholder: 'Comment (why)', 'aria-label': 'Review comment' });
  const history = h('ol.history', { hidden: true });
  const decide = (decision, override = false) => review(e, decision, comment.value.trim(), override);
  const why = own ? 'You proposed this edge: another person must review it.' : '';
  return h('li.review-item', { 'data-testid': 'review-item', dataset: { ref: e.ref, status: e.status, own: String(own) } },
    h('div.review-edge', {},
      h('code.src', { 'data-testid': 'review-source' }, e.source), h('span.arrow', {}, '→'),
      h('code.tgt', { 'data-testid': 'review-target' }, e.target)),
    h('div.review-meta', {},
      h('span.badge', {}, e.granularity), h('span.badge', {}, e.kind || 'direct'),
      e.orphaned ? h('span.badge.bad', { title: 'an endpoint left the graph' }, 'orphaned') : null,
      h('span.maker', { 'data-testid': 'review-maker' }, `proposed by ${e.created_by || 'unknown'}`),
      e.created_at ? h('span.muted', { title: e.created_at }, fmtDateTime(e.created_at)) : null),
    h('p.note', { 'data-testid': 'review-note' }, e.note || h('span.muted', {}, 'no note')),
    why ? h('div.muted.small.own-note', {}, why) : null,
    reviewable ? comment : null,
    h('div.row', {},
      reviewable ? h('button.btn.btn-primary.btn-sm', { type: 'button', 'data-testid': 'approve', disabled: own, title: why || null, onclick: () => decide('approve') }, 'Approve') : null,
      reviewable ? h('button.btn.btn-danger.btn-sm', { type: 'button', 'data-testid': 'reject', disabled: own, title: why || null, onclick: () => decide('reject') }, 'Reject') : null,
      reviewable && own ? h('button.btn.btn-ghost.btn-sm', {
        type: 'button', 'data-testid': 'override', title: 'Admins only: approve your own edge (recorded as an override)',
        onclick: () => decide('approve', true),
      }, 'Approve as admin (override)') : null,
      h('button.btn.btn-ghost.btn-sm', { type: 'button', 'data-testid': 'history', onclick: () => toggleHistory(e, history) }, 'History')),
    history);
}

async function review(e, decision, comment, override = false) {
  try {
    await ctx.api.post(`/api/v1/lineage/edges/${encodeURIComponent(e.ref)}/review`, { decision, comment: comment || null, override });
    toast(`Edge ${decision === 'approve' ? 'approved' : 'rejected'}: ${e.source} → ${e.target}`);
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
    const out = await ctx.api.get(`/api/v1/lineage/edges/${encodeURIComponent(e.ref)}/history`);
    const events = out.events || [];
    box.replaceChildren(...events.map((ev) => h('li', { dataset: { action: ev.action } },
      h('span.muted', { title: ev.ts }, fmtDateTime(ev.ts)), ' ',
      h('b', {}, ev.action), ev.data?.decision ? ` (${ev.data.decision})` : '', ` by ${ev.actor}`,
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
  if (!ctx.state.projectId) {
    out.textContent = 'Choose a project first.';
    return;
  }
  try {
    await ctx.api.post('/api/v1/lineage/edges', {
      project_id: Number(ctx.state.projectId),
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
