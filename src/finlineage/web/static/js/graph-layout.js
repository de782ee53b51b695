// Layered (Sugiyama-style) left-to-right layout for lineage graphs. No dependencies.
//
// 1. cycle breaking: depth-first search, back edges reversed;
// 2. layering: longest path from the sources, then sources pulled right next to their
//    first consumer (keeps feeds close to what reads them);
// 3. long edges split into dummy nodes, one per crossed layer (skipped past a budget);
// 4. crossing reduction: barycentric ordering, alternating down/up sweeps; nodes of one group
//    (the columns of a table) stay together;
// 5. coordinates: x by layer; y by the median of neighbours, with minimum separation enforced
//    in order, a few passes;
// 6. edge routes: points through the dummies.
//
// Input:  nodes [{id, group?, height?}], edges [{source, target}] (ids as in nodes)
// Output: {nodes: Map id → {x, y, layer, order, w, h}, edges: [{source, target, points}], width, height}

const DEFAULTS = {
  nodeWidth: 210,
  nodeHeight: 40,
  layerGap: 90,
  rowGap: 12,
  sweeps: 6,
  maxDummies: 30000,
  coordPasses: 4,
};

export function layout(inputNodes, inputEdges, options = {}) {
  const opt = { ...DEFAULTS, ...options };
  const n = inputNodes.length;
  const index = new Map();
  inputNodes.forEach((node, i) => index.set(node.id, i));

  // ---- adjacency (deduplicated, self-loops dropped)
  const seen = new Set();
  const edges = [];
  inputEdges.forEach((e, k) => {
    const s = index.get(e.source);
    const t = index.get(e.target);
    if (s === undefined || t === undefined || s === t) return;
    const key = s * n + t;
    if (seen.has(key)) return;
    seen.add(key);
    edges.push([s, t, k]);
  });
  const out = Array.from({ length: n }, () => []);
  const inn = Array.from({ length: n }, () => []);
  for (const [s, t] of edges) out[s].push(t);

  // ---- 1. cycle breaking (iterative DFS; edges to a node on the stack are reversed)
  const state = new Uint8Array(n); // 0 new, 1 on stack, 2 done
  const reversed = new Set();
  for (let root = 0; root < n; root++) {
    if (state[root]) continue;
    const stack = [[root, 0]];
    state[root] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [v, i] = top;
      if (i < out[v].length) {
        top[1] += 1;
        const w = out[v][i];
        if (state[w] === 1) reversed.add(v * n + w);
        else if (state[w] === 0) {
          state[w] = 1;
          stack.push([w, 0]);
        }
      } else {
        state[v] = 2;
        stack.pop();
      }
    }
  }
  const dag = edges.map(([s, t, k]) => (reversed.has(s * n + t) ? [t, s, k] : [s, t, k]));
  for (let v = 0; v < n; v++) out[v] = [];
  for (const [s, t] of dag) {
    out[s].push(t);
    inn[t].push(s);
  }

  // ---- 2. layering: topological order (Kahn), longest path from sources
  const indeg = new Int32Array(n);
  for (const [, t] of dag) indeg[t] += 1;
  const topo = [];
  for (let v = 0; v < n; v++) if (!indeg[v]) topo.push(v);
  for (let i = 0; i < topo.length; i++) {
    for (const w of out[topo[i]]) if (--indeg[w] === 0) topo.push(w);
  }
  const layer = new Int32Array(n);
  for (const v of topo) for (const w of out[v]) if (layer[w] < layer[v] + 1) layer[w] = layer[v] + 1;
  // sources sit just left of their nearest consumer
  for (let i = topo.length - 1; i >= 0; i--) {
    const v = topo[i];
    if (inn[v].length || !out[v].length) continue;
    let min = Infinity;
    for (const w of out[v]) min = Math.min(min, layer[w]);
    layer[v] = min - 1;
  }
  let maxLayer = 0;
  for (let v = 0; v < n; v++) maxLayer = Math.max(maxLayer, layer[v]);

  // ---- 3. virtual graph with dummies for long edges
  let span = 0;
  for (const [s, t] of dag) span += Math.max(0, layer[t] - layer[s] - 1);
  const useDummies = span <= opt.maxDummies;
  const vLayer = Array.from(layer);
  const vGroup = inputNodes.map((node) => (node.group == null ? null : String(node.group)));
  const vUp = Array.from({ length: n }, () => []); // neighbours in the previous layer
  const vDown = Array.from({ length: n }, () => []); // neighbours in the next layer
  const chains = []; // per dag edge: the list of virtual nodes from source to target
  for (const [s, t] of dag) {
    const chain = [s];
    if (useDummies) {
      let prev = s;
      for (let l = layer[s] + 1; l < layer[t]; l++) {
        const d = vLayer.length;
        vLayer.push(l);
        vGroup.push(null);
        vUp.push([prev]);
        vDown.push([]);
        vDown[prev].push(d);
        chain.push(d);
        prev = d;
      }
      vDown[prev].push(t);
      vUp[t].push(prev);
    } else {
      vDown[s].push(t);
      vUp[t].push(s);
    }
    chain.push(t);
    chains.push(chain);
  }
  const total = vLayer.length;

  // ---- 4. ordering
  const layers = Array.from({ length: maxLayer + 1 }, () => []);
  // initial order: depth-first from each source, so connected nodes start near each other
  const placed = new Uint8Array(total);
  const visit = (start) => {
    const stack = [start];
    while (stack.length) {
      const v = stack.pop();
      if (placed[v]) continue;
      placed[v] = 1;
      layers[vLayer[v]].push(v);
      const next = vDown[v];
      for (let i = next.length - 1; i >= 0; i--) if (!placed[next[i]]) stack.push(next[i]);
    }
  };
  for (const v of topo) if (!vUp[v].length) visit(v);
  for (let v = 0; v < total; v++) if (!placed[v]) visit(v);

  const pos = new Float64Array(total);
  const syncPos = (ls) => ls.forEach((ids) => ids.forEach((v, i) => (pos[v] = i)));
  syncPos(layers);

  const bary = new Float64Array(total);
  const orderLayer = (ids, neighbours) => {
    for (const v of ids) {
      const nb = neighbours[v];
      if (!nb.length) {
        bary[v] = pos[v];
        continue;
      }
      let sum = 0;
      for (const w of nb) sum += pos[w];
      bary[v] = sum / nb.length;
    }
    // keep groups (a table's columns) contiguous: sort by group mean, then by own barycenter
    const groupMean = new Map();
    for (const v of ids) {
      const g = vGroup[v];
      if (g == null) continue;
      const acc = groupMean.get(g) || [0, 0];
      acc[0] += bary[v];
      acc[1] += 1;
      groupMean.set(g, acc);
    }
    const key = (v) => {
      const g = vGroup[v];
      if (g == null) return bary[v];
      const acc = groupMean.get(g);
      return acc[0] / acc[1];
    };
    ids.sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      if (ka !== kb) return ka - kb;
      const ga = vGroup[a] ?? '';
      const gb = vGroup[b] ?? '';
      if (ga !== gb) return ga < gb ? -1 : 1;
      return bary[a] - bary[b] || pos[a] - pos[b];
    });
    ids.forEach((v, i) => (pos[v] = i));
  };
  for (let sweep = 0; sweep < opt.sweeps; sweep++) {
    if (sweep % 2 === 0) for (let l = 1; l <= maxLayer; l++) orderLayer(layers[l], vUp);
    else for (let l = maxLayer - 1; l >= 0; l--) orderLayer(layers[l], vDown);
  }

  // ---- 5. coordinates
  const heights = new Float64Array(total);
  for (let v = 0; v < total; v++) heights[v] = v < n ? inputNodes[v].height || opt.nodeHeight : 2;
  const y = new Float64Array(total);
  for (const ids of layers) {
    let acc = 0;
    for (const v of ids) {
      y[v] = acc;
      acc += heights[v] + (v < n ? opt.rowGap : 2);
    }
  }
  const gapBetween = (a, b) => {
    let gap = (heights[a] + heights[b]) / 2 + (a < n && b < n ? opt.rowGap : 4);
    if (vGroup[a] != null && vGroup[a] === vGroup[b]) gap -= opt.rowGap * 0.6; // a table's columns sit closer
    else if (vGroup[b] != null) gap += 22; // room for the next group's label
    return gap;
  };
  const centre = (v) => y[v] + heights[v] / 2;
  // Consecutive members of one group move as a block (a table's columns stay stacked).
  const place = (ids, neighbours) => {
    if (!ids.length) return;
    const blocks = [];
    let cur = null;
    for (const v of ids) {
      const g = vGroup[v];
      if (cur && g != null && cur.group === g) {
        const last = cur.members[cur.members.length - 1];
        cur.offs.push(cur.offs[cur.offs.length - 1] + gapBetween(last, v));
        cur.members.push(v);
      } else {
        cur = { group: g, members: [v], offs: [0] };
        blocks.push(cur);
      }
    }
    const want = blocks.map((b) => {
      let sum = 0;
      let count = 0;
      b.members.forEach((v, k) => {
        const nb = neighbours[v];
        if (!nb.length) return;
        const cs = nb.map(centre).sort((a, c) => a - c);
        const m = cs.length >> 1;
        sum += (cs.length % 2 ? cs[m] : (cs[m - 1] + cs[m]) / 2) - b.offs[k];
        count += 1;
      });
      return count ? sum / count : centre(b.members[0]);
    });
    const sep = (j) => {
      const a = blocks[j - 1];
      return a.offs[a.offs.length - 1] + gapBetween(a.members[a.members.length - 1], blocks[j].members[0]);
    };
    const m = blocks.length;
    const down = Float64Array.from(want);
    for (let j = 1; j < m; j++) down[j] = Math.max(want[j], down[j - 1] + sep(j));
    const up = Float64Array.from(want);
    for (let j = m - 2; j >= 0; j--) up[j] = Math.min(want[j], up[j + 1] - sep(j + 1));
    const c = new Float64Array(m);
    for (let j = 0; j < m; j++) c[j] = (down[j] + up[j]) / 2;
    for (let j = 1; j < m; j++) c[j] = Math.max(c[j], c[j - 1] + sep(j));
    blocks.forEach((b, j) => b.members.forEach((v, k) => (y[v] = c[j] + b.offs[k] - heights[v] / 2)));
  };
  const both = Array.from({ length: total }, (_, v) => vUp[v].concat(vDown[v]));
  for (let pass = 0; pass < opt.coordPasses; pass++) {
    for (let l = 1; l <= maxLayer; l++) place(layers[l], pass < 2 ? vUp : both);
    for (let l = maxLayer - 1; l >= 0; l--) place(layers[l], pass < 2 ? vDown : both);
  }
  let minY = Infinity;
  let maxY = -Infinity;
  for (let v = 0; v < total; v++) {
    minY = Math.min(minY, y[v]);
    maxY = Math.max(maxY, y[v] + heights[v]);
  }
  if (!Number.isFinite(minY)) minY = maxY = 0;

  const xOf = (l) => l * (opt.nodeWidth + opt.layerGap);
  const nodes = new Map();
  inputNodes.forEach((node, v) => {
    nodes.set(node.id, {
      x: xOf(layer[v]),
      y: y[v] - minY,
      layer: layer[v],
      order: pos[v],
      w: opt.nodeWidth,
      h: heights[v],
    });
  });

  // ---- 6. routes (in the original direction)
  const routed = [];
  dag.forEach(([s, t, k], i) => {
    const chain = chains[i];
    const points = [[xOf(layer[s]) + opt.nodeWidth, centre(s) - minY]];
    for (let k = 1; k < chain.length - 1; k++) {
      const d = chain[k];
      points.push([xOf(vLayer[d]) + opt.nodeWidth / 2, centre(d) - minY]);
    }
    points.push([xOf(layer[t]), centre(t) - minY]);
    const wasReversed = reversed.has(t * n + s);
    routed.push({
      source: inputNodes[wasReversed ? t : s].id,
      target: inputNodes[wasReversed ? s : t].id,
      points: wasReversed ? points.reverse() : points,
      reversed: wasReversed,
      index: k,
    });
  });

  return {
    nodes,
    edges: routed,
    width: xOf(maxLayer) + opt.nodeWidth,
    height: maxY - minY,
    layers: maxLayer + 1,
    dummies: useDummies ? total - n : 0,
  };
}
