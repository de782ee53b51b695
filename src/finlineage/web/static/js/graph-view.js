// Lineage graph view: layered layout, pan (drag, one finger) and zoom (wheel, buttons, pinch),
// selection with upstream/downstream highlighting, find marks. Drawn as SVG (graph-svg.js), or on
// a canvas above CANVAS_THRESHOLD nodes (graph-canvas.js) with a transparent SVG index on top.
// One <g> carries the view transform, so a pan or zoom frame touches a single attribute whatever
// the graph size; labels are hidden when zoomed far out.
import { layout } from './graph-layout.js';
import { CanvasPainter, LOD_K } from './graph-canvas.js';
import { indexMarkup, standaloneSvg, svgMarkup } from './graph-svg.js';
import { esc } from './util.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const MIN_K = 0.05;
const MAX_K = 3;
/** Above this many nodes the graph is drawn on a canvas (culled, level of detail) instead of SVG. */
export const CANVAS_THRESHOLD = 500;

export class GraphView {
  /**
   * @param {HTMLElement} container
   * @param {{onSelect?: (node|null) => void, onOpen?: (node) => void}} handlers
   */
  constructor(container, handlers = {}) {
    this.container = container;
    this.handlers = handlers;
    this.k = 1;
    this.tx = 0;
    this.ty = 0;
    this.data = null;
    this.result = null;
    this.selected = null;
    this.raf = 0;
    this.svg = document.createElementNS(SVG_NS, 'svg');
    this.svg.setAttribute('role', 'img');
    this.svg.setAttribute('aria-label', 'Lineage graph');
    this.viewport = document.createElementNS(SVG_NS, 'g');
    this.viewport.setAttribute('class', 'viewport');
    const marker = (id, fill) => `<marker id="${id}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" `
      + `markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="${fill}"/></marker>`;
    this.svg.innerHTML = `<defs>${marker('arrow', '#9aa8b8')}${marker('arrow-hl', '#0f6e8c')}</defs>`;
    this.svg.append(this.viewport);
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'graph-canvas';
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', 'Lineage graph (large)');
    this.canvas.hidden = true;
    this.mode = 'svg';
    this.painter = new CanvasPainter(this);
    container.replaceChildren(this.svg, this.canvas);
    this.bind();
  }

  // ------------------------------------------------------------------ data and drawing

  /**
   * nodes: [{id, label, sub, kind, group?, root?, title?}], edges: [{id?, source, target, kind?}]
   * Returns timing: {layoutMs, buildMs}.
   */
  setData(nodes, edges, { fit = true } = {}) {
    const t0 = performance.now();
    this.data = { nodes, edges, byId: new Map(nodes.map((node) => [node.id, node])) };
    this.result = layout(nodes, edges);
    const t1 = performance.now();
    this.mode = nodes.length > CANVAS_THRESHOLD ? 'canvas' : 'svg';
    // canvas mode keeps an invisible SVG index above the drawing: one g.gn[data-name] per node
    // (hit targets, tests, accessibility), moved only when a gesture settles
    this.svg.classList.toggle('index-only', this.mode === 'canvas');
    this.canvas.hidden = this.mode !== 'canvas';
    this.lit = null;
    this.found = null;
    if (this.mode === 'canvas') {
      this.painter.build();
      this.buildIndex();
    } else this.build();
    const t2 = performance.now();
    this.selected = null;
    if (fit) this.fit();
    return { layoutMs: t1 - t0, buildMs: t2 - t1, layers: this.result.layers, dummies: this.result.dummies, mode: this.mode };
  }

  build() {
    this.viewport.innerHTML = svgMarkup(this.data, this.result);
    this.indexElements();
  }

  indexElements() {
    this.nodeEls = new Map();
    for (const el of this.viewport.querySelectorAll('.gn')) this.nodeEls.set(el.dataset.id, el);
    this.edgeEls = Array.from(this.viewport.querySelectorAll('.ge'));
    this.applyTransform();
  }

  /** Canvas mode: transparent node boxes only (no edges, no text drawn). */
  buildIndex() {
    this.viewport.innerHTML = indexMarkup(this.data, this.result);
    this.indexElements();
  }

  /** A standalone SVG document of the whole drawn graph (for export), styles inlined. */
  toSvg() {
    return this.result ? standaloneSvg(this.data, this.result, this.svg.querySelector('defs').outerHTML) : null;
  }

  /** Outline the given node ids (find in graph); null clears. */
  mark(ids) {
    this.found = ids && ids.size ? ids : null;
    for (const [nid, el] of this.nodeEls || []) el.classList.toggle('found', !!this.found?.has(this.resolveId(nid)));
    if (this.mode === 'canvas') this.painter.requestDraw();
  }

  clear(message = '') {
    this.data = null;
    this.result = null;
    this.mode = 'svg';
    this.nodeEls = new Map();
    this.edgeEls = [];
    this.svg.classList.remove('index-only');
    this.canvas.hidden = true;
    this.viewport.innerHTML = message
      ? `<text x="20" y="30" class="grp-label">${esc(message)}</text>`
      : '';
  }


  // ------------------------------------------------------------------ view transform

  applyTransform(fast = false) {
    if (this.mode === 'canvas') {
      if (fast && this.painter.drawn) {
        // during a gesture: move the last full drawing, redraw properly once it settles
        if (!this.painter.snapshot) this.painter.takeSnapshot();
        this.painter.drawFast();
        clearTimeout(this.settleTimer);
        this.settleTimer = setTimeout(() => this.painter.requestDraw(), 140);
      } else this.painter.requestDraw();
      return;
    }
    this.viewport.setAttribute('transform', `translate(${this.tx.toFixed(2)},${this.ty.toFixed(2)}) scale(${this.k.toFixed(4)})`);
    const low = this.k < LOD_K;
    if (low !== this.lowDetail) {
      this.lowDetail = low;
      this.svg.classList.toggle('lod-low', low);
    }
  }

  scheduleTransform() {
    if (this.raf) return;
    this.raf = requestAnimationFrame(() => {
      this.raf = 0;
      this.applyTransform(true);
    });
  }

  size() {
    const r = this.container.getBoundingClientRect();
    return { w: r.width || 800, h: r.height || 500 };
  }

  fit(padding = 30) {
    if (!this.result) return;
    const { w, h } = this.size();
    const gw = this.result.width + padding * 2;
    const gh = this.result.height + padding * 2 + 20;
    this.k = Math.max(MIN_K, Math.min(1.15, w / gw, h / gh));
    this.tx = (w - this.result.width * this.k) / 2;
    this.ty = (h - this.result.height * this.k) / 2 + 8 * this.k;
    this.applyTransform();
  }

  /**
   * Initial framing: the whole graph when it is readable that way, else a readable zoom with the
   * root placed where its lineage extends from (right edge for upstream, left for downstream).
   */
  frame(rootId, direction = 'both', minReadable = 0.55) {
    this.fit();
    const p = rootId != null ? this.result?.nodes.get(rootId) : null;
    if (!p || this.k >= minReadable) return;
    const { w, h } = this.size();
    this.k = 0.75;
    const anchor = direction === 'upstream' ? 0.82 : direction === 'downstream' ? 0.18 : 0.5;
    // the root where its lineage extends from, and always whole on narrow screens
    this.tx = Math.max(12 - p.x * this.k, Math.min(w * anchor - (p.x + p.w / 2) * this.k, w - 12 - (p.x + p.w) * this.k));
    this.ty = h / 2 - (p.y + p.h / 2) * this.k;
    this.applyTransform();
  }

  zoomAt(factor, cx, cy) {
    const k = Math.max(MIN_K, Math.min(MAX_K, this.k * factor));
    const f = k / this.k;
    this.tx = cx - (cx - this.tx) * f;
    this.ty = cy - (cy - this.ty) * f;
    this.k = k;
    this.scheduleTransform();
  }

  zoomBy(factor) {
    const { w, h } = this.size();
    this.zoomAt(factor, w / 2, h / 2);
  }

  panBy(dx, dy) {
    this.tx += dx;
    this.ty += dy;
    this.scheduleTransform();
  }

  /** Centre the view on a node (keeping the zoom, at least readable). */
  focus(id) {
    const p = this.result?.nodes.get(id);
    if (!p) return;
    const { w, h } = this.size();
    this.k = Math.max(this.k, 0.6);
    this.tx = w / 2 - (p.x + p.w / 2) * this.k;
    this.ty = h / 2 - (p.y + p.h / 2) * this.k;
    this.applyTransform();
  }

  // ------------------------------------------------------------------ selection

  select(id, { notify = true } = {}) {
    if (this.selected != null) this.nodeEls?.get(String(this.selected))?.classList.remove('sel');
    this.selected = id;
    const lit = new Set();
    if (id != null && this.data) {
      if (this.mode === 'svg') this.nodeEls.get(String(id))?.classList.add('sel');
      // everything upstream and downstream of the selection along the drawn edges
      const ups = new Map();
      const downs = new Map();
      for (const e of this.data.edges) {
        (downs.get(String(e.source)) || downs.set(String(e.source), []).get(String(e.source))).push(String(e.target));
        (ups.get(String(e.target)) || ups.set(String(e.target), []).get(String(e.target))).push(String(e.source));
      }
      const walk = (start, adj, down) => {
        const visited = new Set([start]);
        const stack = [start];
        while (stack.length) {
          const v = stack.pop();
          for (const w of adj.get(v) || []) {
            lit.add(down ? `${v}>${w}` : `${w}>${v}`);
            if (!visited.has(w)) {
              visited.add(w);
              stack.push(w);
            }
          }
        }
      };
      walk(String(id), downs, true);
      walk(String(id), ups, false);
    }
    const litNodes = new Set();
    for (const key of lit) {
      const [a, b] = key.split('>');
      litNodes.add(a);
      litNodes.add(b);
    }
    if (id != null) litNodes.add(String(id));
    const active = id != null;
    if (this.mode === 'canvas') {
      this.lit = active ? { nodes: litNodes, edges: lit } : null;
      this.painter.requestDraw();
      if (notify) this.handlers.onSelect?.(id == null ? null : this.data?.byId.get(id) ?? null);
      return;
    }
    for (const [nid, el] of this.nodeEls || []) el.classList.toggle('dim', active && !litNodes.has(nid));
    for (const el of this.edgeEls || []) {
      const on = active && lit.has(`${el.dataset.s}>${el.dataset.t}`);
      el.classList.toggle('hl', on);
      el.classList.toggle('dim', active && !on);
      el.setAttribute('marker-end', on ? 'url(#arrow-hl)' : 'url(#arrow)');
    }
    if (notify) this.handlers.onSelect?.(id == null ? null : this.data?.byId.get(id) ?? this.data?.byId.get(Number(id)) ?? null);
  }

  // ------------------------------------------------------------------ input

  bind() {
    const svg = this.container;
    let drag = null;
    const touches = new Map(); // pointerId → {x, y}: two fingers pinch-zoom
    let pinch = null;
    const spread = () => {
      const [a, b] = [...touches.values()];
      return { d: Math.hypot(a.x - b.x, a.y - b.y) || 1, x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
    };
    svg.addEventListener('pointerdown', (e) => {
      if (e.pointerType === 'touch') {
        touches.set(e.pointerId, { x: e.clientX, y: e.clientY });
        if (touches.size === 2) {
          drag = null;
          pinch = spread();
          return;
        }
      }
      if (e.button !== 0) return;
      drag = { x: e.clientX, y: e.clientY, moved: false, id: e.pointerId };
    });
    const untouch = (e) => {
      touches.delete(e.pointerId);
      if (touches.size < 2) pinch = null;
    };
    svg.addEventListener('pointermove', (e) => {
      if (touches.has(e.pointerId)) touches.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (pinch && touches.size === 2) {
        const now = spread();
        const r = this.container.getBoundingClientRect();
        this.panBy(now.x - pinch.x, now.y - pinch.y);
        this.zoomAt(now.d / pinch.d, now.x - r.left, now.y - r.top);
        pinch = now;
        return;
      }
      if (!drag) return;
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      if (!drag.moved) {
        drag.moved = true;
        svg.setPointerCapture?.(drag.id);
        this.container.classList.add('dragging');
      }
      drag.x = e.clientX;
      drag.y = e.clientY;
      this.panBy(dx, dy);
    });
    const end = (e) => {
      untouch(e);
      if (!drag) return;
      const wasDrag = drag.moved;
      drag = null;
      this.container.classList.remove('dragging');
      if (wasDrag || e.type !== 'pointerup') return;
      const hit = this.nodeAt(e);
      if (hit != null) this.select(hit);
      else if (this.selected != null) this.select(null);
    };
    svg.addEventListener('pointerup', end);
    svg.addEventListener('pointercancel', end);
    svg.addEventListener('dblclick', (e) => {
      const hit = this.nodeAt(e);
      if (hit != null) this.handlers.onOpen?.(this.data?.byId.get(hit));
    });
    svg.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = this.container.getBoundingClientRect();
      const factor = Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015));
      this.zoomAt(factor, e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
  }

  nodeAt(e) {
    if (this.mode === 'canvas') {
      const r = this.container.getBoundingClientRect();
      return this.painter.hitTest(e.clientX - r.left, e.clientY - r.top)?.id ?? null;
    }
    const g = e.target.closest?.('.gn');
    return g ? this.resolveId(g.dataset.id) : null;
  }

  resolveId(raw) {
    if (this.data?.byId.has(raw)) return raw;
    const num = Number(raw);
    return this.data?.byId.has(num) ? num : raw;
  }
}
