// Downloads of what is on screen: CSV (nodes and edges with their evidence), SVG and PNG of the
// drawn graph, OpenLineage events of the objects shown, impact lists as CSV.

/** Save a Blob (or text) under a file name through a temporary link. */
export function download(name, content, type = 'text/plain') {
  const blob = content instanceof Blob ? content : new Blob([content], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
export function csvField(value) {
  const s = value == null ? '' : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvRows = (rows) => `${rows.map((r) => r.map(csvField).join(',')).join('\r\n')}\r\n`;

export const fileSafe = (name) => String(name || 'lineage').replace(/[^\w.-]+/g, '_').slice(0, 120);

const CSV_HEAD = [
  'record', 'id', 'name', 'kind', 'hop', 'source', 'target', 'edge_kind', 'subtype', 'status', 'origin',
  'expression', 'formula', 'file', 'line_start', 'line_end', 'source_text',
];

/** One table: a row per node, then a row per edge with its evidence (file, lines, source text). */
export function graphCsv(nodes, edges, levels) {
  const rows = [CSV_HEAD];
  for (const n of nodes) {
    rows.push(['node', n.id, n.canonical_id, n.kind, levels.get(n.id) ?? '', '', '', '', '', '', '', '', '',
      n.file ?? '', n.line_start ?? '', n.line_end ?? '', '']);
  }
  for (const e of edges) {
    rows.push(['edge', e.id, '', '', '', e.source_canonical_id, e.target_canonical_id, e.kind, e.subtype ?? '',
      e.status ?? '', e.origin ?? '', e.expression ?? '', e.formula ?? '', e.file ?? '', e.line_start ?? '',
      e.line_end ?? '', e.source_text ?? '']);
  }
  return csvRows(rows);
}

export function impactCsv(out) {
  const rows = [['root', 'object', 'kind', 'hop']];
  for (const g of out.groups || []) for (const n of g.nodes) rows.push([out.root.canonical_id, n.canonical_id, n.kind, g.hop]);
  return csvRows(rows);
}

/** PNG of an SVG document, scaled down to stay within the browser's canvas limits. */
export function svgToPng(svgText, maxSide = 8000) {
  return new Promise((resolve, reject) => {
    const url = URL.createObjectURL(new Blob([svgText], { type: 'image/svg+xml' }));
    const img = new Image();
    img.onload = () => {
      const w = img.naturalWidth || img.width;
      const hgt = img.naturalHeight || img.height;
      const scale = Math.min(2, maxSide / w, maxSide / hgt, Math.sqrt(64e6 / (w * hgt)));
      const canvas = document.createElement('canvas');
      canvas.width = Math.max(1, Math.round(w * scale));
      canvas.height = Math.max(1, Math.round(hgt * scale));
      const g = canvas.getContext('2d');
      g.fillStyle = '#fff';
      g.fillRect(0, 0, canvas.width, canvas.height);
      g.drawImage(img, 0, 0, canvas.width, canvas.height);
      URL.revokeObjectURL(url);
      canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('the image could not be encoded'))), 'image/png');
    };
    img.onerror = () => {
      URL.revokeObjectURL(url);
      reject(new Error('the graph could not be drawn as an image'));
    };
    img.src = url;
  });
}

/**
 * The OpenLineage run events (from the server's export) that write an object on screen.
 * Dataset names may carry a database prefix, so a name matches when it ends with `.object`.
 */
export function openLineageOnScreen(events, objectNames) {
  const wanted = new Set([...objectNames].map((n) => String(n).toLowerCase()));
  const shown = (ds) => {
    const name = String(ds?.name || '').toLowerCase();
    if (wanted.has(name)) return true;
    const parts = name.split('.');
    for (let i = 1; i < parts.length; i++) if (wanted.has(parts.slice(i).join('.'))) return true;
    return false;
  };
  return (Array.isArray(events) ? events : []).filter((ev) => (ev.outputs || []).some(shown));
}
