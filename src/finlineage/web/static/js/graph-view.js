// SVG lineage graph: layered layout, pan (drag) and zoom (wheel, buttons), selection with
// upstream/downstream highlighting. One <g> carries the view transform, so a pan or zoom frame
// touches a single attribute whatever the graph size; labels are hidden when zoomed far out.
import { layout } from './graph-layout.js';
import { esc } from './util.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const KIND_CLASS = {
  table: 's-table', view: 's-view', materialized_view: 's-materialized_view',
  procedure: 's-procedure', function: 's-function', column: 's-column',
};
const MIN_K = 0.05;
const MAX_K = 3;
const LOD_K = 0.45;
/** Above this many nodes the graph is drawn on a canvas (culled, level of detail) instead of SVG. */
export const CANVAS_THRESHOLD = 500;
const COLORS = {
  table: '#2563eb', view: '#7c3aed', materialized_view: '#7c3aed', procedure: '#c2410c',
  function: '#c2410c', column: '#0f766e', other: '#64748b',
};

const EXPORT_CSS = [
  '.gn rect.box{fill:#fff;stroke:#cbd3dd}.gn.root rect.box{fill:#e6f3f7;stroke:#0f6e8c;stroke-width:2}',
  '.gn text{font:12px Inter,"Segoe UI",system-ui,sans-serif;fill:#13202e}.gn text.sub{font-size:10.5px;fill:#6b7889}',
  '.ge{fill:none;stroke:#9aa8b8;stroke-width:1.2}.ge.indirect{stroke-dasharray:4 3;stroke:#b7c2cf}',
  '.ge.st-proposed{stroke:#d97706;stroke-dasharray:6 3}.ge.st-approved{stroke:#15803d}',
  '.ge.st-rejected{stroke:#b91c1c;stroke-dasharray:2 3}',
  '.s-table{fill:#2563eb}.s-view,.s-materialized_view{fill:#7c3aed}.s-procedure,.s-function{fill:#c2410c}',
  '.s-column{fill:#0f766e}.s-other{fill:#64748b}.grp{fill:rgba(15,110,140,.04);stroke:#d5dde6;stroke-dasharray:3 3}',
  '.grp-label{font:600 10.5px Inter,"Segoe UI",system-ui,sans-serif;fill:#6b7889}',
].join('');

function truncate(text, max) {
  const s = String(text ?? '');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function pathFor(points) {
  const [x0, y0] = points[0];
  let d = `M${x0.toFixed(1)},${y0.toFixed(1)}`;
  for (let i = 1; i < points.length; i++) {
    const [xa, ya] = points[i - 1];
    const [xb, yb] = points[i];
    const mx = (xa + xb) / 2;
    d += `C${mx.toFixed(1)},${ya.toFixed(1)} ${mx.toFixed(1)},${yb.toFixed(1)} ${xb.toFixed(1)},${yb.toFixed(1)}`;
  }
  return d;
}

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
      this.buildCanvas();
      this.buildIndex();
    } else this.build();
    const t2 = performance.now();
    this.selected = null;
    if (fit) this.fit();
    return { layoutMs: t1 - t0, buildMs: t2 - t1, layers: this.result.layers, dummies: this.result.dummies, mode: this.mode };
  }

  build() {
    this.viewport.innerHTML = this.svgMarkup();
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
    const parts = [];
    for (const node of this.data.nodes) {
      const p = this.result.nodes.get(node.id);
      parts.push(`<g class="gn${node.root ? ' root' : ''}" data-id="${esc(node.id)}" data-name="${esc(node.key ?? node.label)}" `
        + `transform="translate(${p.x},${p.y})"><rect class="hit" width="${p.w}" height="${p.h}"/></g>`);
    }
    this.viewport.innerHTML = parts.join('');
    this.indexElements();
  }

  /** The graph's SVG (nodes, edges, group frames) in layout coordinates. */
  svgMarkup() {
    const { nodes } = this.data;
    const res = this.result;
    const parts = [];
    // group frames (the columns of one table within one layer)
    const frames = new Map();
    for (const node of nodes) {
      if (node.group == null) continue;
      const p = res.nodes.get(node.id);
      const key = `${node.group}@${p.layer}`;
      const f = frames.get(key);
      if (!f) frames.set(key, { label: node.groupLabel || node.group, x: p.x, y0: p.y, y1: p.y + p.h, count: 1 });
      else {
        f.y0 = Math.min(f.y0, p.y);
        f.y1 = Math.max(f.y1, p.y + p.h);
        f.count += 1;
      }
    }
    parts.push('<g class="groups">');
    for (const f of frames.values()) {
      parts.push(`<rect class="grp" x="${f.x - 6}" y="${f.y0 - 18}" width="${res.nodes.values().next().value.w + 12}" height="${f.y1 - f.y0 + 24}" rx="6"/>`,
        `<text class="grp-label" x="${f.x}" y="${f.y0 - 6}">${esc(truncate(f.label, 34))}</text>`);
    }
    parts.push('</g><g class="edges">');
    for (const e of res.edges) {
      const edge = this.data.edges[e.index] || {};
      const kind = edge.kind === 'indirect' ? ' indirect' : '';
      const status = edge.status ? ` st-${esc(edge.status)}` : '';
      const title = edge.title ? `<title>${esc(edge.title)}</title>` : '';
      parts.push(`<path class="ge${kind}${status}" data-s="${esc(e.source)}" data-t="${esc(e.target)}" d="${pathFor(e.points)}" marker-end="url(#arrow)">${title}</path>`);
    }
    parts.push('</g><g class="nodes">');
    for (const node of nodes) {
      const p = res.nodes.get(node.id);
      const cls = KIND_CLASS[node.kind] || 's-other';
      const root = node.root ? ' root' : '';
      const labelMax = Math.floor((p.w - 18) / 6.9);
      parts.push(
        `<g class="gn${root}" data-id="${esc(node.id)}" data-name="${esc(node.key ?? node.label)}" transform="translate(${p.x},${p.y})">`,
        `<title>${esc(node.title || node.label)}</title>`,
        `<rect class="box" width="${p.w}" height="${p.h}" rx="5"/>`,
        `<rect class="stripe ${cls}" width="4" height="${p.h}" rx="1"/>`,
        `<text x="12" y="${node.sub ? 16 : p.h / 2 + 4}">${esc(truncate(node.label, labelMax))}</text>`,
        node.sub ? `<text class="sub" x="12" y="31">${esc(truncate(node.sub, labelMax + 4))}</text>` : '',
        '</g>',
      );
    }
    parts.push('</g>');
    return parts.join('');
  }

  /** A standalone SVG document of the whole drawn graph (for export), styles inlined. */
  toSvg() {
    if (!this.result) return null;
    const pad = 24;
    const w = Math.ceil(this.result.width + pad * 2);
    const hgt = Math.ceil(this.result.height + pad * 2 + 24);
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${hgt}" viewBox="0 0 ${w} ${hgt}">`
      + `<style>${EXPORT_CSS}</style>${this.svg.querySelector('defs').outerHTML}`
      + `<rect width="100%" height="100%" fill="#ffffff"/><g transform="translate(${pad},${pad + 20})">${this.svgMarkup()}</g></svg>`;
  }

  /** Outline the given node ids (find in graph); null clears. */
  mark(ids) {
    this.found = ids && ids.size ? ids : null;
    for (const [nid, el] of this.nodeEls || []) el.classList.toggle('found', !!this.found?.has(this.resolveId(nid)));
    if (this.mode === 'canvas') this.requestDraw();
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


  // ------------------------------------------------------------------ canvas (large graphs)

  buildCanvas() {
    const res = this.result;
    const direct = new Path2D();
    const indirect = new Path2D();
    this.edgePaths = res.edges.map((e) => {
      const path = new Path2D();
      const [x0, y0] = e.points[0];
      path.moveTo(x0, y0);
      for (let i = 1; i < e.points.length; i++) {
        const [xa, ya] = e.points[i - 1];
        const [xb, yb] = e.points[i];
        const mx = (xa + xb) / 2;
        path.bezierCurveTo(mx, ya, mx, yb, xb, yb);
      }
      (this.data.edges[e.index]?.kind === 'indirect' ? indirect : direct).addPath(path);
      return path;
    });
    this.directPath = direct;
    this.indirectPath = indirect;
    const straight = new Path2D();
    for (const e of res.edges) {
      straight.moveTo(e.points[0][0], e.points[0][1]);
      for (let i = 1; i < e.points.length; i++) straight.lineTo(e.points[i][0], e.points[i][1]);
    }
    this.straightPath = straight;
    this.snapshot = null;
    this.drawn = null;
    this.boxes = this.data.nodes.map((node) => ({ node, p: res.nodes.get(node.id), id: String(node.id) }));
  }

  draw() {
    if (!this.result || !this.boxes) return;
    const canvas = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const { w, h } = this.size();
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
      canvas.style.width = `${w}px`;
      canvas.style.height = `${h}px`;
    }
    const g = canvas.getContext('2d');
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, canvas.width, canvas.height);
    g.setTransform(dpr * this.k, 0, 0, dpr * this.k, dpr * this.tx, dpr * this.ty);
    const k = this.k;
    const lit = this.lit;
    // edges
    g.lineWidth = 1.2 / Math.max(k, 0.35);
    g.globalAlpha = lit ? 0.15 : 1;
    g.strokeStyle = '#9aa8b8';
    if (k < 0.25) {
      g.stroke(this.straightPath); // far out: curves and dashes would not be visible anyway
    } else {
      g.stroke(this.directPath);
      g.setLineDash([4, 3]);
      g.strokeStyle = '#b7c2cf';
      g.stroke(this.indirectPath);
      g.setLineDash([]);
    }
    g.globalAlpha = 1;
    if (lit) {
      g.strokeStyle = '#0f6e8c';
      g.lineWidth = 2 / Math.max(k, 0.35);
      this.result.edges.forEach((e, i) => {
        if (lit.edges.has(`${e.source}>${e.target}`)) g.stroke(this.edgePaths[i]);
      });
    }
    // nodes inside the visible rectangle only
    const x0 = -this.tx / k;
    const y0 = -this.ty / k;
    const x1 = x0 + w / k;
    const y1 = y0 + h / k;
    const labels = k >= LOD_K;
    g.font = '12px Inter, "Segoe UI", system-ui, sans-serif';
    g.textBaseline = 'alphabetic';
    for (const { node, p, id } of this.boxes) {
      if (p.x > x1 || p.x + p.w < x0 || p.y > y1 || p.y + p.h < y0) continue;
      const dim = lit && !lit.nodes.has(id);
      g.globalAlpha = dim ? 0.28 : 1;
      const selected = this.selected != null && String(this.selected) === id;
      g.fillStyle = node.root ? '#e6f3f7' : '#ffffff';
      g.fillRect(p.x, p.y, p.w, p.h);
      g.lineWidth = selected ? 2.5 : node.root ? 2 : 1;
      g.strokeStyle = selected ? '#0b2239' : node.root ? '#0f6e8c' : '#cbd3dd';
      g.strokeRect(p.x, p.y, p.w, p.h);
      g.fillStyle = COLORS[node.kind] || COLORS.other;
      g.fillRect(p.x, p.y, 4, p.h);
      if (labels) {
        const max = Math.floor((p.w - 18) / 6.9);
        g.fillStyle = '#13202e';
        g.font = '12px Inter, "Segoe UI", system-ui, sans-serif';
        g.fillText(truncate(node.label, max), p.x + 12, p.y + (node.sub ? 16 : p.h / 2 + 4));
        if (node.sub) {
          g.fillStyle = '#6b7889';
          g.font = '10.5px Inter, "Segoe UI", system-ui, sans-serif';
          g.fillText(truncate(node.sub, max + 4), p.x + 12, p.y + 31);
        }
      }
    }
    g.globalAlpha = 1;
    if (this.found) {
      g.strokeStyle = '#d97706';
      g.lineWidth = 3 / Math.max(k, 0.35);
      for (const { node, p } of this.boxes) if (this.found.has(node.id)) g.strokeRect(p.x - 3, p.y - 3, p.w + 6, p.h + 6);
    }
    this.viewport.setAttribute('transform', `translate(${this.tx.toFixed(2)},${this.ty.toFixed(2)}) scale(${this.k.toFixed(4)})`);
    this.drawn = { k: this.k, tx: this.tx, ty: this.ty };
    this.snapshot = null; // taken from this drawing when a gesture starts
  }

  /** Full drawings are coalesced to one per animation frame. */
  requestDraw() {
    if (this.drawPending) return;
    this.drawPending = requestAnimationFrame(() => {
      this.drawPending = 0;
      this.draw();
    });
  }

  takeSnapshot() {
    const canvas = this.canvas;
    if (!this.snapCanvas) this.snapCanvas = document.createElement('canvas');
    const snap = this.snapCanvas;
    if (snap.width !== canvas.width || snap.height !== canvas.height) {
      snap.width = canvas.width;
      snap.height = canvas.height;
    }
    const g = snap.getContext('2d');
    g.clearRect(0, 0, snap.width, snap.height);
    g.drawImage(canvas, 0, 0);
    this.snapshot = this.drawn;
  }

  /** One bitmap draw: the last full drawing, scaled and moved to the current view. */
  drawFast() {
    const { k, tx, ty } = this.snapshot;
    const dpr = window.devicePixelRatio || 1;
    const s = this.k / k;
    const g = this.canvas.getContext('2d');
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, this.canvas.width, this.canvas.height);
    g.setTransform(s, 0, 0, s, dpr * (this.tx - s * tx), dpr * (this.ty - s * ty));
    g.drawImage(this.snapCanvas, 0, 0);
  }

  /** The node under a point of the container (canvas mode). */
  hitTest(cx, cy) {
    const gx = (cx - this.tx) / this.k;
    const gy = (cy - this.ty) / this.k;
    for (const { node, p } of this.boxes || []) {
      if (gx >= p.x && gx <= p.x + p.w && gy >= p.y && gy <= p.y + p.h) return node;
    }
    return null;
  }

  // ------------------------------------------------------------------ view transform

  applyTransform(fast = false) {
    if (this.mode === 'canvas') {
      if (fast && this.drawn) {
        // during a gesture: move the last full drawing, redraw properly once it settles
        if (!this.snapshot) this.takeSnapshot();
        this.drawFast();
        clearTimeout(this.settleTimer);
        this.settleTimer = setTimeout(() => this.requestDraw(), 140);
      } else this.requestDraw();
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
      this.requestDraw();
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
      return this.hitTest(e.clientX - r.left, e.clientY - r.top)?.id ?? null;
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
