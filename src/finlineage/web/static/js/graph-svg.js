// The lineage graph as SVG markup: nodes (g.gn[data-name]), edges by kind and status, group
// frames; the transparent index used over the canvas; a standalone document for export.
import { esc } from './util.js';

const KIND_CLASS = {
  table: 's-table', view: 's-view', materialized_view: 's-materialized_view',
  procedure: 's-procedure', function: 's-function', column: 's-column',
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

export function truncate(text, max) {
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

/** The graph's SVG (nodes, edges, group frames) in layout coordinates. */
export function svgMarkup(data, result) {
const { nodes } = data;
const res = result;
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
    const edge = data.edges[e.index] || {};
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

/** Canvas mode: one transparent, clickable box per node, named like the SVG nodes. */
export function indexMarkup(data, result) {
  const parts = [];
  for (const node of data.nodes) {
    const p = result.nodes.get(node.id);
    parts.push(`<g class="gn${node.root ? ' root' : ''}" data-id="${esc(node.id)}" data-name="${esc(node.key ?? node.label)}" `
      + `transform="translate(${p.x},${p.y})"><rect class="hit" width="${p.w}" height="${p.h}"/></g>`);
  }
  return parts.join('');
}

/** A standalone SVG document of the whole graph, styles inlined (`defs`: the arrow markers). */
export function standaloneSvg(data, result, defs) {
  const pad = 24;
  const w = Math.ceil(result.width + pad * 2);
  const hgt = Math.ceil(result.height + pad * 2 + 24);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${hgt}" viewBox="0 0 ${w} ${hgt}">`
    + `<style>${EXPORT_CSS}</style>${defs}`
    + `<rect width="100%" height="100%" fill="#ffffff"/><g transform="translate(${pad},${pad + 20})">${svgMarkup(data, result)}</g></svg>`;
}
