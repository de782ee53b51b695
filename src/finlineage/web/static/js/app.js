// Page bootstrap: auth check, hash router, project selector, live socket, views.
import { api, getKey, setKey } from './api.js';
import { LiveSocket } from './ws.js';
import { $, $$, banner, emit, h, on, toast } from './util.js';
import * as overview from './overview.js';
import * as ingest from './ingest.js';
import * as explore from './explore.js';
import * as ask from './ask.js';
import * as admin from './admin.js';
import * as file from './fileview.js';
import * as review from './review.js';
import * as versions from './versions.js';

const VIEWS = { overview, ingest, explore, ask, review, versions, file, admin };
const TITLES = {
  overview: 'Overview', ingest: 'Ingest', explore: 'Explore lineage', ask: 'Ask', review: 'Review',
  versions: 'Versions', file: 'File', admin: 'Administration',
};
const PROJECT_STORE = 'finlineage.project';

const ctx = {
  api,
  socket: new LiveSocket(),
  state: { projects: [], projectId: localStorage.getItem(PROJECT_STORE) || '', ack: null, current: null },
  navigate(view, params = {}) {
    const hash = hashFor(view, params);
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  /** Write the full address of what is shown (defaults spelt out) without a new history entry. */
  rewrite(view, params = {}) {
    history.replaceState(null, '', hashFor(view, params));
  },
  /** The project's name for labels (search suggestions, chooser). */
  projectName(id) {
    return ctx.state.projects.find((p) => String(p.id) === String(id))?.name ?? `project ${id}`;
  },
  setProject(id, { quiet = false } = {}) {
    const value = id == null ? '' : String(id);
    if (value === ctx.state.projectId) return;
    ctx.state.projectId = value;
    if (value) localStorage.setItem(PROJECT_STORE, value);
    $('#project-select').value = value;
    syncNavLinks();
    if (!quiet) emit('project-changed', value);
  },
  /** Several projects hold a name: ask which one (resolves to a project id, or null). */
  chooseProject(candidates, name) {
    return chooseProject(candidates, name);
  },
  async loadProjects() {
    try {
      const page = await api.get('/api/v1/projects', { limit: 500 });
      ctx.state.projects = page.items || [];
    } catch (exc) {
      if (exc.status !== 401) toast(`Projects: ${exc.message}`, 'bad');
      return;
    }
    const select = $('#project-select');
    const known = (id) => ctx.state.projects.some((p) => String(p.id) === String(id));
    select.replaceChildren();
    for (const p of ctx.state.projects) select.add(new Option(p.name, String(p.id)));
    if (ctx.state.projects.length > 1) select.add(new Option('All projects', ''));
    // default: the project in the address, else the last used, else the first (or only) one
    const wanted = parseHash().params.project;
    let current = ctx.state.projectId;
    if (wanted !== undefined && (wanted === '' || known(wanted))) current = wanted;
    if (current && !known(current)) current = '';
    if (!current && wanted !== '') {
      const last = localStorage.getItem(PROJECT_STORE);
      current = last && known(last) ? last : String(ctx.state.projects[0]?.id ?? '');
    }
    ctx.state.projectId = current;
    if (current) localStorage.setItem(PROJECT_STORE, current);
    select.value = current;
    syncNavLinks();
    emit('projects-changed', ctx.state.projects);
  },
};
window.finlineage = ctx; // for the browser tests and the console

// ---------------------------------------------------------------- routing

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [name, query] = raw.split('?');
  const view = VIEWS[name] ? name : 'overview';
  return { view, params: Object.fromEntries(new URLSearchParams(query || '')) };
}

function hashFor(view, params = {}) {
  const all = { ...params };
  if (!('project' in all)) all.project = ctx.state.projectId;
  const qs = new URLSearchParams(Object.entries(all).filter(([k, v]) => v != null && (v !== '' || k === 'project'))).toString();
  return `#/${view}${qs ? `?${qs}` : ''}`;
}

function syncNavLinks() {
  for (const link of $$('.nav a')) link.setAttribute('href', hashFor(link.dataset.view));
}

function route() {
  const { view, params } = parseHash();
  // the project is part of every address: follow it, or write the current one in
  if (params.project !== undefined && params.project !== ctx.state.projectId
      && (params.project === '' || ctx.state.projects.some((p) => String(p.id) === params.project))) {
    ctx.setProject(params.project);
  } else if (params.project === undefined && ctx.state.projects.length) {
    history.replaceState(null, '', hashFor(view, params));
  }
  document.body.classList.remove('nav-open');
  $('#nav-toggle').setAttribute('aria-expanded', 'false');
  for (const section of $$('.view')) section.hidden = section.dataset.view !== view;
  for (const link of $$('.nav a')) link.classList.toggle('active', link.dataset.view === view);
  $('#view-title').textContent = TITLES[view];
  document.title = `${TITLES[view]} · finlineage`;
  const previous = ctx.state.current;
  ctx.state.current = view;
  if (previous && previous !== view) VIEWS[previous].hide?.(ctx);
  VIEWS[view].show?.(ctx, params);
  document.body.dataset.view = view;
}

// ---------------------------------------------------------------- auth

const dialog = () => $('#key-dialog');
let authPending = null;

function askForKey(reason = '') {
  const d = dialog();
  $('#key-error').hidden = !reason;
  $('#key-error').textContent = reason;
  $('#key-input').value = '';
  if (!d.open) d.showModal();
  $('#key-input').focus();
  if (!authPending) {
    authPending = new Promise((resolve) => {
      ctx.resolveAuth = resolve;
    });
  }
  return authPending;
}

async function checkAuth() {
  try {
    await api.get('/api/v1/stats');
    return true;
  } catch (exc) {
    if (exc.status === 401) return false;
    return true; // reachable without an auth problem (503 while starting is fine)
  }
}

function bindAuth() {
  $('#key-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const key = $('#key-input').value.trim();
    if (!key) return;
    setKey(key);
    if (await checkAuth()) {
      dialog().close();
      const resolve = ctx.resolveAuth;
      authPending = null;
      ctx.resolveAuth = null;
      resolve?.();
      emit('auth-ok');
    } else {
      setKey('');
      $('#key-error').textContent = 'That key was not accepted.';
      $('#key-error').hidden = false;
    }
  });
  $('#key-forget').addEventListener('click', () => {
    setKey('');
    $('#key-input').value = '';
  });
  $('#key-button').addEventListener('click', () => askForKey());
  dialog().addEventListener('cancel', (e) => {
    if (!getKey()) e.preventDefault(); // without a key there is nothing to show
  });
  on('auth-required', () => askForKey(getKey() ? 'The key was rejected; enter a valid key.' : ''));
  on('auth-ok', () => {
    ctx.socket.reconnectNow();
    ctx.loadProjects();
    route();
  });
}

// ---------------------------------------------------------------- live connection

const CONN_TEXT = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

function bindSocket() {
  const conn = $('#conn');
  const text = $('#conn-text');
  let restarting = false;
  let failures = 0;
  ctx.socket.addEventListener('state', async (e) => {
    const { state, delayMs, ack, reconnected } = e.detail;
    conn.dataset.state = state;
    conn.dataset.connects = String(ctx.socket.connects);
    text.textContent = state === 'reconnecting' && delayMs != null
      ? `Reconnecting in ${Math.max(1, Math.round(delayMs / 1000))} s…`
      : CONN_TEXT[state] || state;
    if (state === 'live') {
      failures = 0;
      const before = ctx.state.ack;
      ctx.state.ack = ack;
      $('#server-version').textContent = ack?.server_version ? `v${ack.server_version}` : '';
      if (reconnected || restarting) {
        const newInstance = before && ack && before.instance_id !== ack.instance_id;
        banner(newInstance || restarting ? 'The server is back. Live updates resumed.' : 'Reconnected. Live updates resumed.', 'ok');
        restarting = false;
        setTimeout(() => banner(''), 4000);
        ctx.loadProjects();
      }
      emit('socket-live', { ack, reconnected });
    } else if (state === 'reconnecting') {
      failures += 1;
      if (!restarting && failures >= 2) banner('Live connection lost; retrying with backoff…');
      // A refused socket may be an auth problem: the REST check tells.
      if (failures === 2 && !(await checkAuth())) askForKey(getKey() ? 'The key was rejected.' : '');
    }
  });
  ctx.socket.addEventListener('message', (e) => {
    const msg = e.detail;
    if (msg.type === 'system_status_change') {
      if (msg.data?.status === 'restarting') {
        restarting = true;
        banner('The server is restarting… the page reconnects by itself.');
      } else if (msg.data?.status === 'healthy') banner('');
    } else if (msg.type === 'disconnect_notice') {
      restarting = restarting || /restart/i.test(msg.data?.reason || '');
    }
    emit('ws', msg);
    emit(`ws:${msg.type}`, msg);
  });
}

// ---------------------------------------------------------------- project chooser

function chooseProject(candidates, name) {
  const d = $('#chooser');
  const byProject = new Map();
  for (const c of candidates || []) if (!byProject.has(String(c.project_id))) byProject.set(String(c.project_id), c);
  $('#chooser-text').textContent = `“${name}” exists in ${byProject.size} projects. Open it in:`;
  return new Promise((resolve) => {
    const list = $('#chooser-list');
    list.replaceChildren(...[...byProject.entries()].map(([pid, c]) =>
      h('li', {}, h('button.btn.chooser-pick', {
        type: 'button',
        dataset: { project: pid },
        onclick: () => {
          d.close('picked');
          resolve(pid);
        },
      }, ctx.projectName(pid), h('span.muted.small', {}, ` ${c.canonical_id} · ${c.kind}`)))));
    d.addEventListener('close', () => d.returnValue !== 'picked' && resolve(null), { once: true });
    d.returnValue = '';
    d.showModal();
  });
}

// ---------------------------------------------------------------- start

async function start() {
  bindAuth();
  bindSocket();
  $('#project-select').addEventListener('change', (e) => {
    ctx.setProject(e.target.value);
    const { view, params } = parseHash();
    ctx.navigate(view, { ...params, project: ctx.state.projectId });
  });
  $('#nav-toggle').addEventListener('click', () => {
    const open = document.body.classList.toggle('nav-open');
    $('#nav-toggle').setAttribute('aria-expanded', String(open));
  });
  for (const view of Object.values(VIEWS)) view.init?.(ctx);
  window.addEventListener('hashchange', route);
  if (!(await checkAuth())) await askForKey();
  await ctx.loadProjects();
  route();
  ctx.socket.connect();
  document.body.dataset.ready = 'true';
}

start();
