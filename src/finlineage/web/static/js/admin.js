// Admin: server facts, component health, restart with live status ("restarting…" → back).
import { $, esc, fmtTime, h, on, toast } from './util.js';

let ctx;
let confirmTimer = null;
let restart = null; // {since, instanceBefore, done}

export function init(c) {
  ctx = c;
  $('#health-refresh').addEventListener('click', loadHealth);
  $('#restart').addEventListener('click', onRestartClick);
  on('ws:system_status_change', (msg) => {
    if (restart) log(`status: ${msg.data.status}${msg.data.reason ? ` (${msg.data.reason})` : ''}`);
    setServerStatus(msg.data.status);
  });
  on('ws:disconnect_notice', (msg) => restart && log(`connection closed by the server: ${msg.data.reason}`));
  on('socket-live', ({ ack }) => {
    renderServer();
    if (restart && !restart.done) checkBack();
  });
}

export function show() {
  renderServer();
  loadHealth();
}

function setServerStatus(status) {
  const badge = $('#server-status');
  badge.className = `badge ${status}`;
  badge.textContent = status === 'restarting' ? 'restarting…' : status;
  badge.dataset.status = status;
}

function renderServer(health) {
  const ack = ctx.state.ack || {};
  const rows = [
    ['Version', ack.server_version || health?.version || '—'],
    ['Instance', ack.instance_id || health?.components?.events?.instance_id || '—'],
    ['Process id', ack.pid ?? health?.components?.events?.pid ?? '—'],
    ['Started', ack.started_at ? new Date(ack.started_at).toLocaleString('en-GB') : '—'],
    ['Live connection', ctx.socket.state],
    ['Connection id', ack.connection_id || '—'],
  ];
  $('#server-kv').replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]));
}

function details(component) {
  const skip = new Set(['status']);
  return Object.entries(component)
    .filter(([k, v]) => !skip.has(k) && v != null && typeof v !== 'object')
    .map(([k, v]) => `${k.replace(/_/g, ' ')}: ${v}`)
    .join(' · ');
}

async function loadHealth() {
  let health;
  try {
    health = await ctx.api.get('/health');
  } catch (exc) {
    setServerStatus('down');
    $('#health-table tbody').replaceChildren(h('tr', {}, h('td', { colspan: '3', class: 'error-text' }, `The server does not answer: ${exc.message}`)));
    return null;
  }
  if (!restart || restart.done) setServerStatus(health.status);
  renderServer(health);
  const body = $('#health-table tbody');
  body.replaceChildren(...Object.entries(health.components || {}).map(([name, c]) =>
    h('tr', { dataset: { component: name } },
      h('td', {}, name),
      h('td', {}, h(`span.badge.${esc(c.status)}`, {}, c.status)),
      h('td.muted.small', {}, details(c)))));
  return health;
}

function onRestartClick() {
  const btn = $('#restart');
  if (btn.dataset.confirm !== 'true') {
    btn.dataset.confirm = 'true';
    btn.textContent = 'Click again to confirm restart';
    clearTimeout(confirmTimer);
    confirmTimer = setTimeout(() => {
      btn.dataset.confirm = 'false';
      btn.textContent = 'Restart server';
    }, 5000);
    return;
  }
  clearTimeout(confirmTimer);
  btn.dataset.confirm = 'false';
  btn.textContent = 'Restart server';
  doRestart();
}

function log(text) {
  $('#restart-log').append(h('div', {}, h('span.t', {}, fmtTime(new Date())), h('span', {}, text)));
}

async function doRestart() {
  const btn = $('#restart');
  $('#restart-log').replaceChildren();
  restart = { since: performance.now(), instanceBefore: ctx.state.ack?.instance_id, startedBefore: ctx.state.ack?.started_at, done: false };
  btn.disabled = true;
  try {
    const out = await ctx.api.post('/admin/restart');
    log(`restart accepted (grace ${out.grace_s} s)`);
    setServerStatus('restarting');
  } catch (exc) {
    restart = null;
    btn.disabled = false;
    const msg = exc.status === 403 ? 'Restart needs an admin key.' : exc.message;
    log(`restart refused: ${msg}`);
    toast(msg, 'bad');
    return;
  }
  // Poll /health (exempt from draining) until a new instance answers healthy; the socket
  // reconnecting with a new instance id also ends the wait (checkBack).
  const poll = async () => {
    if (!restart || restart.done) return;
    let health = null;
    try {
      health = await ctx.api.get('/health');
    } catch {
      health = null;
    }
    if (!restart || restart.done) return;
    const inst = health?.components?.events?.instance_id;
    if (health && health.status !== 'restarting' && inst && inst !== restart.instanceBefore) finish(health);
    else setTimeout(poll, 500);
  };
  setTimeout(poll, 500);
}

function checkBack() {
  const ack = ctx.state.ack;
  if (ack && restart && (ack.instance_id !== restart.instanceBefore || ack.started_at !== restart.startedBefore)) finish();
}

async function finish(health) {
  if (!restart || restart.done) return;
  restart.done = true;
  const secs = ((performance.now() - restart.since) / 1000).toFixed(1);
  log(`back online after ${secs} s`);
  $('#restart').disabled = false;
  setServerStatus('healthy');
  toast(`The server restarted and is back (${secs} s).`);
  await loadHealth();
  if (health) renderServer(health);
}
