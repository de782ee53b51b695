// File view: a stored file's original text with some lines highlighted
// (`#/file?id=<file id>&from=&to=` or `#/file?path=<path>&line=<n>`).
import { codeBlock, scrollToLine } from './explore-detail.js';
import { $, h } from './util.js';

const CONTEXT = 400;
let ctx;
let seq = 0;

export function init(c) {
  ctx = c;
}

export async function show(_ctx, params = {}) {
  const mine = ++seq;
  const body = $('#file-body');
  const from = Number(params.from || params.line) || null;
  const to = Number(params.to || params.line) || from;
  body.replaceChildren(h('div.empty', {}, 'Loading…'));
  let id = params.id;
  try {
    if (!id && params.path) id = await fileIdFor(params.path);
    if (!id) throw new Error(params.path ? `no stored file ${params.path}` : 'no file chosen');
    const start = from ? Math.max(1, from - CONTEXT) : 1;
    const out = await ctx.api.get(`/api/v1/files/${encodeURIComponent(id)}/content`, { from: start, to: to ? to + CONTEXT : null });
    if (mine !== seq) return;
    $('#file-title').textContent = out.path;
    $('#file-meta').textContent = `${out.dialect || 'no dialect'} · ${out.total_lines} lines${from ? ` · lines ${from}–${to}` : ''} · sha256 ${String(out.sha256).slice(0, 12)}`;
    const code = codeBlock(out.lines, out.line_start, from, to, { id: 'file-code', class: 'file-code' });
    body.replaceChildren(code);
    scrollToLine(code.querySelector('.ln.hl'));
  } catch (exc) {
    if (mine !== seq) return;
    $('#file-title').textContent = params.path || `file ${id ?? ''}`;
    body.replaceChildren(h('div.error-text', {}, `Cannot show this file: ${exc.message}`));
  }
}

/** The newest stored version of a path in the current project. */
async function fileIdFor(path) {
  const page = await ctx.api.get('/api/v1/files', { path, project_id: ctx.state.projectId || null, limit: 50 });
  const exact = (page.items || []).filter((f) => f.path === path);
  const pick = exact.find((f) => f.status === 'active') || exact.find((f) => f.status === 'error') || exact[0];
  return pick?.id ?? null;
}
