// Ask: chat with mode selector, streamed answers (SSE), cited sources that open the graph.
import { streamEvents } from './api.js';
import { $, $$, CANONICAL, esc, h, uid } from './util.js';

let ctx;
let mode = 'text';
let sessionId = uid();
let busy = null; // AbortController of the running answer

export function init(c) {
  ctx = c;
  for (const b of $$('#ask-modes [data-mode]')) {
    b.addEventListener('click', () => {
      mode = b.dataset.mode;
      for (const o of $$('#ask-modes [data-mode]')) o.classList.toggle('on', o === b);
    });
  }
  $('#ask-form').addEventListener('submit', (e) => {
    e.preventDefault();
    send();
  });
  $('#ask-input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      send();
    }
  });
  $('#ask-new').addEventListener('click', () => {
    busy?.abort();
    if (sessionId) ctx.api.del(`/api/chat/session/${encodeURIComponent(sessionId)}`).catch(() => {});
    sessionId = uid();
    $('#messages').replaceChildren(h('div.empty.chat-empty', {}, 'New conversation. Ask away.'));
  });
  $('#messages').addEventListener('click', (e) => {
    const ex = e.target.closest('.examples .link');
    if (ex) {
      $('#ask-input').value = ex.textContent;
      send();
      return;
    }
    const ref = e.target.closest('[data-open]');
    if (ref) openRef(ref.dataset.open, ref.dataset.kind);
  });
}

export function show() {
  setTimeout(() => $('#ask-input').focus(), 0);
}

/** Markdown subset of the answers: paragraphs, bullet lists, `code`, **bold**; names link to the graph. */
export function renderMarkdown(text) {
  const inline = (s) => esc(s)
    .replace(/``([^`]+)``|`([^`]+)`/g, (_, a, b) => {
      const code = a ?? b;
      const raw = code.replace(/&amp;/g, '&');
      return CANONICAL.test(raw)
        ? `<code class="ref" data-open="${code}" data-kind="${raw.split('.').length >= 3 ? 'maybe-column' : 'node'}" role="link" tabindex="0">${code}</code>`
        : `<code>${code}</code>`;
    })
    .replace(/\*\*([^*]+)\*\*/g, '<b>$1</b>');
  const out = [];
  let list = false;
  for (const line of String(text).split('\n')) {
    const item = line.match(/^\s*[-*•]\s+(.*)$/) || line.match(/^\s*\d+[.)]\s+(.*)$/);
    if (item) {
      if (!list) out.push('<ul>');
      list = true;
      out.push(`<li>${inline(item[1])}</li>`);
      continue;
    }
    if (list) out.push('</ul>');
    list = false;
    if (line.trim()) out.push(`<p>${inline(line)}</p>`);
  }
  if (list) out.push('</ul>');
  return out.join('');
}

function openRef(ref, kind) {
  if (!ref) return;
  if (kind === 'maybe-column' || kind === 'column') ctx.navigate('explore', { column: ref, gran: 'column' });
  else ctx.navigate('explore', { node: ref });
}

function sourceTarget(src) {
  // node:<id> → the object; edge:c<id> / edge:t<id> "a → b" → the target of the edge; chunks by label
  if (src.type === 'graph_node') {
    const id = String(src.id).split(':').pop();
    return { ref: /^\d+$/.test(id) ? id : src.label, kind: 'node' };
  }
  if (src.type === 'graph_edge') {
    const target = String(src.label).split('→').pop().trim();
    const column = String(src.id).startsWith('edge:c');
    return { ref: target, kind: column ? 'column' : 'node' };
  }
  const label = String(src.label || '');
  return CANONICAL.test(label) ? { ref: label, kind: 'node' } : null;
}

function renderSources(sources) {
  if (!sources?.length) return null;
  return h('div.sources', {},
    h('div.section-title', {}, `Sources (${sources.length})`),
    ...sources.slice(0, 12).map((s, i) => {
      const target = sourceTarget(s);
      const where = s.file ? `${s.file}${s.lines?.length ? `:${s.lines[0]}${s.lines[1] && s.lines[1] !== s.lines[0] ? `–${s.lines[1]}` : ''}` : ''}` : '';
      const kind = s.type === 'graph_edge' ? 'edge' : s.type === 'graph_node' ? 'object' : 'code';
      return h('div.src', { dataset: { source: s.id } },
        h('span.n', {}, `[${i + 1}]`),
        h('span.badge', {}, kind),
        target
          ? h('button.link', { type: 'button', 'data-open': target.ref, 'data-kind': target.kind, title: 'Open in the lineage graph' }, s.label)
          : h('span', {}, s.label),
        h('span.f', { title: where }, where));
    }));
}

async function send() {
  const input = $('#ask-input');
  const query = input.value.trim();
  if (!query || busy) return;
  input.value = '';
  const box = $('#messages');
  box.querySelector('.chat-empty')?.remove();
  box.append(h('div.msg.user', {}, query));
  const body = h('div.body');
  const meta = h('div.meta');
  const msg = h('div.msg.assistant.streaming', { dataset: { state: 'streaming' } }, body, meta);
  box.append(msg);
  box.scrollTop = box.scrollHeight;
  $('#ask-send').disabled = true;
  busy = new AbortController();
  let text = '';
  let pending = false;
  let deltas = 0;
  const paint = () => {
    pending = false;
    body.innerHTML = renderMarkdown(text);
    box.scrollTop = box.scrollHeight;
  };
  try {
    const payload = { query, session_id: sessionId, context: ctx.state.projectId ? { project_id: Number(ctx.state.projectId) } : null };
    for await (const { event, data } of streamEvents(`/api/chat/${mode}/stream`, payload, busy.signal)) {
      if (event === 'start') {
        meta.textContent = `${mode} · ${data.model || ''}`;
      } else if (event === 'delta') {
        text += data.text || '';
        deltas += 1;
        msg.dataset.deltas = String(deltas);
        if (!pending) {
          pending = true;
          requestAnimationFrame(paint);
        }
      } else if (event === 'done') {
        text = data.response ?? text;
        paint();
        meta.replaceChildren(...[
          h('span', {}, `mode ${data.query_type || mode}`),
          data.intent ? h('span', {}, `intent ${data.intent}`) : null,
          h('span', {}, data.model || ''),
          data.latency_ms != null ? h('span', {}, `${Math.round(data.latency_ms)} ms`) : null,
          ...(data.warnings || []).map((w) => h('span', { class: 'error-text' }, w)),
        ].filter(Boolean));
        const sources = renderSources(data.sources);
        if (sources) msg.append(sources);
        msg.dataset.state = 'done';
      } else if (event === 'error') {
        throw new Error(data.message || data.error || 'the answer failed');
      }
    }
    if (msg.dataset.state !== 'done') {
      paint();
      msg.dataset.state = 'done';
    }
  } catch (exc) {
    if (exc?.name !== 'AbortError') {
      msg.classList.add('error');
      msg.dataset.state = 'error';
      body.innerHTML = `${renderMarkdown(text)}<p>${esc(exc.status === 401 ? 'An API key is needed.' : exc.message)}</p>`;
    }
  } finally {
    msg.classList.remove('streaming');
    busy = null;
    $('#ask-send').disabled = false;
    box.scrollTop = box.scrollHeight;
  }
}
