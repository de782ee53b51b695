// What of a lineage answer is on screen: hop levels from the root, counts per hop, a hop limit
// (large answers open collapsed by hop), per-node expand/collapse by one hop in either direction,
// find by name, and the focus on the paths between two nodes. No DOM here.

const UP = 'up';
const DOWN = 'down';

export class LineageModel {
  /**
   * nodes: [{id, ...}], edges: [{id, source, target, ...}] (source → target is the data flow),
   * roots: ids the walk started from, dir: 'upstream' | 'downstream' | 'both'.
   */
  constructor(nodes, edges, roots, dir) {
    this.dir = dir;
    this.nodes = new Map();
    this.edges = new Map();
    this.roots = roots.filter((id) => id != null);
    this.expanded = { up: new Set(), down: new Set() };
    this.collapsed = { up: new Set(), down: new Set() };
    this.maxHop = Infinity;
    /** At most this many nodes on screen, nearest hops first (expansions included). */
    this.cap = Infinity;
    this.focus = null;
    this.merge(nodes, edges);
  }

  /** Add nodes and edges (an expansion's answer); recomputes the natural hop levels. */
  merge(nodes, edges) {
    for (const n of nodes) if (!this.nodes.has(n.id)) this.nodes.set(n.id, n);
    for (const e of edges) if (this.nodes.has(e.source) && this.nodes.has(e.target)) this.edges.set(e.id ?? `${e.source}>${e.target}`, e);
    this.ups = new Map();
    this.downs = new Map();
    for (const e of this.edges.values()) {
      push(this.ups, e.target, e.source);
      push(this.downs, e.source, e.target);
    }
    this.levels = this.walk({ maxHop: Infinity, natural: true }).level;
  }

  /** The directions a node is followed in without being expanded by hand. */
  naturalDirs(id, side) {
    if (this.roots.includes(id)) return this.dir === 'both' ? [UP, DOWN] : [this.dir === 'upstream' ? UP : DOWN];
    return side ? [side] : [];
  }

  /** Breadth-first from the roots along the allowed directions. */
  walk({ maxHop, natural = false }) {
    const level = new Map();
    const side = new Map();
    const queue = [];
    for (const r of this.roots) {
      if (!this.nodes.has(r)) continue;
      level.set(r, 0);
      queue.push(r);
    }
    for (let i = 0; i < queue.length; i++) {
      const v = queue[i];
      const lv = level.get(v);
      const dirs = new Set(this.naturalDirs(v, side.get(v)));
      if (!natural) {
        for (const d of [UP, DOWN]) if (this.expanded[d].has(v)) dirs.add(d);
      }
      for (const d of dirs) {
        if (!natural && this.collapsed[d].has(v)) continue;
        const forced = !natural && this.expanded[d].has(v);
        if (!forced && lv + 1 > maxHop) continue;
        for (const w of (d === UP ? this.ups : this.downs).get(v) || []) {
          if (level.has(w)) continue;
          if (!natural && level.size >= this.cap) return { level, side, capped: true };
          level.set(w, lv + 1);
          side.set(w, d);
          queue.push(w);
        }
      }
    }
    return { level, side, capped: false };
  }

  /** Node counts per hop over the whole answer: [[hop, count], ...]. */
  hopCounts() {
    const counts = new Map();
    for (const lv of this.levels.values()) counts.set(lv, (counts.get(lv) || 0) + 1);
    return [...counts.entries()].sort((a, b) => a[0] - b[0]);
  }

  get deepest() {
    let max = 0;
    for (const lv of this.levels.values()) max = Math.max(max, lv);
    return max;
  }

  /** The largest hop limit that keeps at most `cap` nodes (0: the roots alone, when even the
   * first hop is larger; the nodes then expand one by one). */
  hopLimitFor(cap) {
    let total = 0;
    let limit = 0;
    for (const [hop, count] of this.hopCounts()) {
      total += count;
      if (total > cap) break;
      limit = hop;
    }
    return limit;
  }

  /** What is on screen: {nodes, edges, level}. */
  visible() {
    let ids;
    let level;
    let capped = false;
    if (this.focus) {
      ids = this.focus;
      level = this.levels;
    } else {
      ({ level, capped } = this.walk({ maxHop: this.maxHop }));
      ids = new Set(level.keys());
    }
    const nodes = [...ids].map((id) => this.nodes.get(id)).filter(Boolean);
    const edges = [...this.edges.values()].filter((e) => ids.has(e.source) && ids.has(e.target));
    return { nodes, edges, level, capped };
  }

  /** Hidden neighbours of a node, per direction (for the expand buttons). */
  hiddenAround(id, shown) {
    const count = (adj) => (adj.get(id) || []).filter((w) => !shown.has(w)).length;
    return { up: count(this.ups), down: count(this.downs) };
  }

  resetExpansions() {
    for (const d of [UP, DOWN]) {
      this.expanded[d].clear();
      this.collapsed[d].clear();
    }
  }

  expand(id, d) {
    this.collapsed[d].delete(id);
    this.expanded[d].add(id);
  }

  collapse(id, d) {
    this.expanded[d].delete(id);
    this.collapsed[d].add(id);
  }

  /** Nodes whose name contains the text (case-insensitive). */
  find(text) {
    const q = text.trim().toLowerCase();
    if (!q) return [];
    const out = [];
    for (const n of this.nodes.values()) {
      const name = String(n.canonical_id ?? n.name ?? n.id).toLowerCase();
      if (name.includes(q)) out.push(n.id);
    }
    return out;
  }

  /** Show whatever is needed for a node to be on screen (raise the hop limit to its level). */
  reveal(id) {
    const lv = this.levels.get(id);
    if (lv != null && lv > this.maxHop) this.maxHop = lv;
  }

  /**
   * Every node on a data-flow path between a and b (either way round): reachable downstream from
   * one and upstream from the other. Null when no path joins them.
   */
  pathBetween(a, b) {
    const reach = (start, adj) => {
      const seen = new Set([start]);
      const stack = [start];
      while (stack.length) {
        for (const w of adj.get(stack.pop()) || []) {
          if (!seen.has(w)) {
            seen.add(w);
            stack.push(w);
          }
        }
      }
      return seen;
    };
    for (const [from, to] of [[a, b], [b, a]]) {
      const down = reach(from, this.downs);
      if (!down.has(to)) continue;
      const up = reach(to, this.ups);
      return new Set([...down].filter((id) => up.has(id)));
    }
    return null;
  }
}

function push(map, key, value) {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
