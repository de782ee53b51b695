// Large graphs on a canvas: edges as prebuilt paths, nodes culled to the visible rectangle,
// labels only when readable; during a gesture the last drawing is moved as one bitmap and redrawn
// properly once the gesture settles. The GraphView owns the data, the transform and the selection.
import { truncate } from './graph-svg.js';

export const LOD_K = 0.45;
const COLORS = {
  table: '#2563eb', view: '#7c3aed', materialized_view: '#7c3aed', procedure: '#c2410c',
  function: '#c2410c', column: '#0f766e', other: '#64748b',
};

export class CanvasPainter {
  constructor(view) {
    this.view = view;
    this.drawPending = 0;
  }

  /** Paths and node boxes for the view's current layout. */
  build() {
    const res = this.view.result;
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
      (this.view.data.edges[e.index]?.kind === 'indirect' ? indirect : direct).addPath(path);
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
    this.boxes = this.view.data.nodes.map((node) => ({ node, p: res.nodes.get(node.id), id: String(node.id) }));
  }

  draw() {
    if (!this.view.result || !this.boxes) return;
    const canvas = this.view.canvas;
    const dpr = window.devicePixelRatio || 1;
    const { w, h } = this.view.size();
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
      canvas.style.width = `${w}px`;
      canvas.style.height = `${h}px`;
    }
    const g = canvas.getContext('2d');
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, canvas.width, canvas.height);
    g.setTransform(dpr * this.view.k, 0, 0, dpr * this.view.k, dpr * this.view.tx, dpr * this.view.ty);
    const k = this.view.k;
    const lit = this.view.lit;
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
      this.view.result.edges.forEach((e, i) => {
        if (lit.edges.has(`${e.source}>${e.target}`)) g.stroke(this.edgePaths[i]);
      });
    }
    // nodes inside the visible rectangle only
    const x0 = -this.view.tx / k;
    const y0 = -this.view.ty / k;
    const x1 = x0 + w / k;
    const y1 = y0 + h / k;
    const labels = k >= LOD_K;
    g.font = '12px Inter, "Segoe UI", system-ui, sans-serif';
    g.textBaseline = 'alphabetic';
    for (const { node, p, id } of this.boxes) {
      if (p.x > x1 || p.x + p.w < x0 || p.y > y1 || p.y + p.h < y0) continue;
      const dim = lit && !lit.nodes.has(id);
      g.globalAlpha = dim ? 0.28 : 1;
      const selected = this.view.selected != null && String(this.view.selected) === id;
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
    if (this.view.found) {
      g.strokeStyle = '#d97706';
      g.lineWidth = 3 / Math.max(k, 0.35);
      for (const { node, p } of this.boxes) if (this.view.found.has(node.id)) g.strokeRect(p.x - 3, p.y - 3, p.w + 6, p.h + 6);
    }
    this.view.viewport.setAttribute('transform', `translate(${this.view.tx.toFixed(2)},${this.view.ty.toFixed(2)}) scale(${this.view.k.toFixed(4)})`);
    this.drawn = { k: this.view.k, tx: this.view.tx, ty: this.view.ty };
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
    const canvas = this.view.canvas;
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
    const s = this.view.k / k;
    const g = this.view.canvas.getContext('2d');
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, this.view.canvas.width, this.view.canvas.height);
    g.setTransform(s, 0, 0, s, dpr * (this.view.tx - s * tx), dpr * (this.view.ty - s * ty));
    g.drawImage(this.snapCanvas, 0, 0);
  }

  /** The node under a point of the container (canvas mode). */
  hitTest(cx, cy) {
    const gx = (cx - this.view.tx) / this.view.k;
    const gy = (cy - this.view.ty) / this.view.k;
    for (const { node, p } of this.boxes || []) {
      if (gx >= p.x && gx <= p.x + p.w && gy >= p.y && gy <= p.y + p.h) return node;
    }
    return null;
  }
}
