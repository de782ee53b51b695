// Ingest: pick or create a project, upload files / a folder / a zip, follow the run, per-file results.
import { $, fmtBytes, fmtDuration, fmtNum, h, on, toast } from './util.js';

const TERMINAL = new Set(['completed', 'completed_with_errors', 'failed', 'cancelled', 'interrupted']);
/** A run status in words: `completed_with_errors` → "completed with errors". */
export const statusText = (status) => String(status || '').replace(/_/g, ' ');
const POLL_MS = 800;

let ctx;
let picked = []; // [{file, path}]
let active = null; // {ingestionId, runId, done}

export function init(c) {
  ctx = c;
  on('projects-changed', fillProjects);
  on('ws:ingestion_progress', (msg) => onLive(msg.data));
  on('ws:ingestion_started', (msg) => onLive({ ...msg.data, files_done: 0, percentage: 0 }));

  $('#new-project-toggle').addEventListener('click', () => {
    $('#new-project').hidden = !$('#new-project').hidden;
    if (!$('#new-project').hidden) $('#new-project-name').focus();
  });
  $('#new-project-create').addEventListener('click', createProject);
  $('#new-project-name').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      createProject();
    }
  });
  $('#pick-files').addEventListener('change', (e) => addFiles([...e.target.files].map((f) => ({ file: f, path: f.name }))));
  $('#pick-folder').addEventListener('change', (e) => addFiles([...e.target.files].map((f) => ({ file: f, path: f.webkitRelativePath || f.name }))));
  $('#pick-zip').addEventListener('change', (e) => addFiles([...e.target.files].map((f) => ({ file: f, path: f.name }))));
  $('#ingest-clear').addEventListener('click', () => {
    picked = [];
    renderPicked();
  });
  const dz = $('#dropzone');
  dz.addEventListener('dragover', (e) => {
    e.preventDefault();
    dz.classList.add('over');
  });
  dz.addEventListener('dragleave', () => dz.classList.remove('over'));
  dz.addEventListener('drop', async (e) => {
    e.preventDefault();
    dz.classList.remove('over');
    addFiles(await droppedFiles(e.dataTransfer));
  });
  $('#ingest-form').addEventListener('submit', (e) => {
    e.preventDefault();
    submit();
  });
}

let dialectsLoaded = false;
export async function show() {
  fillProjects();
  if (dialectsLoaded) return;
  try {
    const out = await ctx.api.get('/api/v1/config/sql-dialects');
    const select = $('#ingest-dialect');
    for (const d of out.dialects || []) if (d !== 'auto') select.add(new Option(d, d));
    dialectsLoaded = true;
  } catch {
    /* keep "auto" */
  }
}

function fillProjects() {
  const select = $('#ingest-project');
  const keep = select.value || ctx.state.projectId;
  select.replaceChildren();
  if (!ctx.state.projects.length) select.add(new Option('— create a project —', ''));
  for (const p of ctx.state.projects) select.add(new Option(`${p.name} (${fmtNum(p.objects)} objects)`, String(p.id)));
  if (keep && ctx.state.projects.some((p) => String(p.id) === String(keep))) select.value = String(keep);
  updateSubmit();
}

async function createProject() {
  const name = $('#new-project-name').value.trim();
  if (!name) return;
  try {
    const project = await ctx.api.post('/api/v1/projects', { name });
    await ctx.loadProjects();
    $('#ingest-project').value = String(project.id);
    $('#new-project').hidden = true;
    $('#new-project-name').value = '';
    toast(`Project “${project.name}” created`);
  } catch (exc) {
    toast(exc.status === 409 ? `A project named “${name}” already exists` : `Could not create the project: ${exc.message}`, 'bad');
  }
  updateSubmit();
}

// ---------------------------------------------------------------- picking

async function droppedFiles(dt) {
  const out = [];
  const entries = [...(dt.items || [])].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.length) return [...dt.files].map((f) => ({ file: f, path: f.name }));
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const file = await new Promise((res, rej) => entry.file(res, rej));
      out.push({ file, path: prefix + entry.name });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      }
    }
  };
  for (const entry of entries) await walk(entry, '');
  return out;
}

function addFiles(items) {
  const known = new Set(picked.map((p) => p.path));
  for (const item of items) if (!known.has(item.path)) picked.push(item);
  renderPicked();
}

function renderPicked() {
  const list = $('#picked');
  list.replaceChildren();
  const total = picked.reduce((s, p) => s + p.file.size, 0);
  for (const p of picked.slice(0, 200)) list.append(h('li', {}, h('span', { title: p.path }, p.path), h('span.muted', {}, fmtBytes(p.file.size))));
  if (picked.length > 200) list.append(h('li.muted', {}, `… and ${picked.length - 200} more`));
  if (picked.length) list.prepend(h('li', {}, h('b', {}, `${picked.length} file${picked.length > 1 ? 's' : ''}`), h('span.muted', {}, fmtBytes(total))));
  updateSubmit();
}

function updateSubmit() {
  $('#ingest-submit').disabled = !picked.length || !$('#ingest-project').value || (active && !active.done);
}

// ---------------------------------------------------------------- running

function setProgress(phase, pct, file = '') {
  $('#ingest-progress').hidden = false;
  $('#ingest-empty').hidden = true;
  $('#ingest-phase').textContent = phase;
  $('#ingest-pct').textContent = `${Math.round(pct)}%`;
  $('#ingest-bar').style.width = `${Math.max(0, Math.min(100, pct))}%`;
  $('#ingest-file').textContent = file;
}

function setStatus(status) {
  const badge = $('#ingest-status');
  badge.hidden = false;
  badge.className = `badge ${status}`;
  badge.textContent = statusText(status);
  badge.dataset.status = status;
}

async function submit() {
  const projectId = $('#ingest-project').value;
  if (!projectId || !picked.length) return;
  const form = new FormData();
  for (const p of picked) form.append('files', p.file, p.path);
  form.append('project_id', projectId);
  const repo = $('#ingest-repo').value.trim();
  if (repo) form.append('repository_name', repo);
  form.append('dialect', $('#ingest-dialect').value || 'auto');
  active = { done: false };
  updateSubmit();
  $('#ingest-results').hidden = true;
  $('#ingest-summary').hidden = true;
  setStatus('uploading');
  setProgress('Uploading', 0);
  try {
    const accepted = await ctx.api.upload('/api/v1/files/upload', form, { wait: false }, (loaded, total) => {
      setProgress('Uploading', (loaded / total) * 100, `${fmtBytes(loaded)} of ${fmtBytes(total)}`);
    });
    active = { ingestionId: accepted.ingestion_id, runId: accepted.run_id, done: false };
    setStatus(accepted.status || 'queued');
    setProgress('Parsing', 0, `run ${accepted.run_id} · ${accepted.ingestion_id}`);
    await follow(active);
  } catch (exc) {
    active = { done: true };
    setStatus('failed');
    setProgress('Failed', 100, '');
    $('#ingest-bar').parentElement.classList.add('failed');
    const msg = exc.status === 403 ? 'Your key cannot upload (the editor role is needed).' : exc.message;
    $('#ingest-file').textContent = msg;
    toast(`Upload failed: ${msg}`, 'bad');
  }
  updateSubmit();
}

function onLive(data) {
  if (!active || active.done || data?.run_id == null || String(data.run_id) !== String(active.runId)) return;
  setStatus('running');
  setProgress('Parsing', data.percentage ?? 0, data.file ? `${data.files_done ?? 0} / ${data.files_total ?? '?'} · ${data.file}` : '');
}

async function follow(run) {
  $('#ingest-bar').parentElement.classList.remove('done', 'failed');
  for (;;) {
    let status;
    try {
      status = await ctx.api.get(`/api/v1/ingestion/${encodeURIComponent(run.ingestionId)}`);
    } catch (exc) {
      if (exc.status === 0 || exc.status === 503) {
        await new Promise((r) => setTimeout(r, POLL_MS * 2));
        continue;
      }
      throw exc;
    }
    if (TERMINAL.has(status.status)) {
      run.done = true;
      finish(status);
      return;
    }
    setStatus(status.status);
    if (status.files_total) {
      setProgress('Parsing', status.percentage ?? 0, `${fmtNum(status.files_done)} / ${fmtNum(status.files_total)} files`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function finish(s) {
  setStatus(s.status);
  const ok = s.status === 'completed';
  setProgress(statusText(s.status).replace(/^./, (c) => c.toUpperCase()), 100,
    s.duration_ms != null ? `finished in ${fmtDuration(s.duration_ms / 1000)}` : '');
  const bar = $('#ingest-bar').parentElement;
  bar.classList.toggle('done', ok || s.status === 'completed_with_errors');
  bar.classList.toggle('failed', !ok && s.status !== 'completed_with_errors');
  const summary = $('#ingest-summary');
  summary.hidden = false;
  summary.innerHTML = [
    ['Processed', s.files_processed], ['Unchanged', s.files_skipped_duplicate], ['Failed', s.files_failed],
    ['Objects', s.total_nodes_created], ['Edges', s.total_edges_created],
  ].map(([k, v]) => `<div><b>${fmtNum(v)}</b><span>${k}</span></div>`).join('');
  // failed files first, then files with warnings, then the rest (each group in path order)
  const rank = (r) => (r.status === 'error' ? 0 : (r.diagnostics || []).some((d) => d.severity === 'error') ? 1 : (r.diagnostics || []).length ? 2 : 3);
  const results = [...(s.results || [])].sort((a, b) => rank(a) - rank(b) || a.path.localeCompare(b.path));
  $('#ingest-results').replaceChildren(...results.map(resultItem));
  $('#ingest-results').hidden = !results.length;
  // on a phone the results sit below the form: bring the first (failed first) into view
  if (results.length && matchMedia('(max-width: 760px)').matches) $('#ingest-summary').scrollIntoView({ block: 'start' });
  if (s.error) toast(`Ingestion ${statusText(s.status)}: ${s.error}`, 'bad');
  ctx.loadProjects();
}

/** `path:line:col: message`, the location linking to the file view at that line. */
function located(path, line, column, message, cls) {
  const loc = `${path}${line ? `:${line}${column ? `:${column}` : ''}` : ''}`;
  const qs = new URLSearchParams({ project: ctx.state.projectId || '', path });
  if (line) qs.set('line', String(line));
  return h(`li.${cls}`, {}, h('a.loc', { href: `#/file?${qs}`, title: 'open the file at this line' }, loc), `: ${message}`);
}

function resultItem(r) {
  // the file's error is usually also its first error diagnostic: show it once
  const diags = (r.diagnostics || []).filter((d) => !(r.error && d.message === r.error && (d.line ?? null) === (r.line ?? null)));
  const msgs = [
    ...(r.error ? [located(r.path, r.line, r.column, r.error, 'error')] : []),
    ...diags.slice(0, 6).map((d) => located(r.path, d.line, d.column, d.message, d.severity === 'error' ? 'error' : 'warning')),
  ];
  if (diags.length > 6) msgs.push(h('li.muted', {}, `… ${diags.length - 6} more`));
  return h(`li.result${r.status === 'error' ? '.failed' : ''}`, { dataset: { path: r.path, status: r.status } },
    h('div.result-head', {},
      h('span.mono.result-path', {}, r.path),
      h(`span.badge.${r.status}`, {}, statusText(r.status)),
      h('span.muted.small', {}, `${r.dialect || 'no dialect'} · ${fmtNum(r.objects)} objects · ${fmtNum(r.edges)} edges`)),
    msgs.length ? h('ul.msgs', {}, msgs) : null);
}
