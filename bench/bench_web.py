"""Dashboard graph benchmark: a 2,000-node layered lineage subgraph laid out and painted by the
page's own modules (graph-layout.js + graph-view.js) in headless Chromium, then panned and zoomed.

The page's static files are served to the browser by a Playwright route (no server needed), with
the page's real stylesheet. Timings are taken inside the page with performance.now():

* layout+paint: `setData()` (layout + SVG build) + initial framing, until two animation frames
  have passed (the browser has styled, laid out and painted the SVG); median of 5 fresh views;
* interaction: one zoom or pan step until the next frame is painted; median and p95 of 60 steps;
* selection: clicking a node (highlight its lineage, dim the rest) until painted.

Writes bench/results/web.json and the "## Web page" section of docs/BENCHMARKS.md.

    python bench/bench_web.py [--nodes 2000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import platform
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from finlineage.web import STATIC_DIR, static_size_bytes  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "web.json"
DOC = ROOT / "docs" / "BENCHMARKS.md"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BUDGET_MS = 1500.0
SIZE_BUDGET = 500 * 1024
ORIGIN = "http://bench.finlineage.local"

HARNESS = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/css/app.css">
<style>body{margin:0} #graph{width:1400px;height:860px}</style></head>
<body><div id="graph" class="graph"></div></body></html>"""


def synthetic_graph(n: int, seed: int = 7) -> dict[str, Any]:
    """A lineage-shaped DAG: feeds → staging → marts → reports, 12 layers, 1–3 inputs per node
    (mostly from the previous layer, some skipping layers), a few fan-in hubs, one root."""
    rng = random.Random(seed)
    layers = 12
    per_layer = [n // layers] * layers
    per_layer[0] += n - sum(per_layer)
    kinds = ["table", "table", "table", "view", "procedure", "materialized_view"]
    schemas = ["raw", "stg", "ref", "pos", "pnl", "risk", "crd", "rpt"]
    nodes: list[dict[str, Any]] = []
    by_layer: list[list[int]] = []
    nid = 0
    for layer, count in enumerate(per_layer):
        ids = []
        for _ in range(count):
            schema = schemas[min(len(schemas) - 1, layer * len(schemas) // layers)]
            name = f"{schema}.object_{nid:04d}"
            kind = rng.choice(kinds) if layer else "table"
            nodes.append(
                {
                    "id": nid,
                    "key": name,
                    "label": name,
                    "sub": f"{kind} · file_{nid % 97:02d}.sql",
                    "kind": kind,
                    "height": 40,
                    "raw": {"id": nid, "canonical_id": name, "kind": kind},
                }
            )
            ids.append(nid)
            nid += 1
        by_layer.append(ids)
    edges: list[dict[str, Any]] = []
    hubs = [rng.choice(by_layer[layer]) for layer in range(1, layers - 1) for _ in range(3)]
    for layer in range(1, layers):
        for target in by_layer[layer]:
            for _ in range(rng.choice([1, 1, 2, 2, 3])):
                back = 1 if layer < 2 or rng.random() < 0.8 else rng.randint(2, min(4, layer))
                source = rng.choice(by_layer[max(0, layer - back)])
                edges.append(
                    {
                        "source": source,
                        "target": target,
                        "kind": "direct" if rng.random() < 0.8 else "indirect",
                    }
                )
            if rng.random() < 0.05:
                hub = rng.choice(hubs)
                if nodes[hub]["id"] in by_layer[layer - 1]:
                    edges.append({"source": hub, "target": target, "kind": "direct"})
    root = by_layer[-1][0]
    nodes[root]["root"] = True
    return {"nodes": nodes, "edges": edges, "root": root}


MEASURE = """async ({ graph, runs, steps }) => {
  const { GraphView } = await import('/static/js/graph-view.js');
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const painted = async () => { await frame(); await frame(); };
  const container = document.getElementById('graph');
  const renders = [];
  let view;
  for (let i = 0; i < runs; i++) {
    container.replaceChildren();
    await painted();
    const t0 = performance.now();
    view = new GraphView(container, {});
    const timing = view.setData(graph.nodes, graph.edges, { fit: false });
    view.frame(graph.root, 'upstream');
    view.select(graph.root, { notify: false });
    const t1 = performance.now();
    await painted();
    const t2 = performance.now();
    renders.push({ layoutMs: timing.layoutMs, buildMs: timing.buildMs, scriptMs: t1 - t0, totalMs: t2 - t0,
                   layers: timing.layers, dummies: timing.dummies, mode: timing.mode });
  }
  // interaction on the last view: zoom out to the whole graph (worst case), then zoom/pan steps
  view.fit();
  await painted();
  const r = container.getBoundingClientRect();
  const stepTimes = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    if (i % 3 === 2) view.panBy(25, -15);
    else view.zoomAt(i % 2 ? 1.08 : 1 / 1.08, r.width / 2, r.height / 2);
    await frame();  // the transform is applied in this frame...
    await frame();  // ...and painted before the next one starts
    stepTimes.push(performance.now() - t);
  }
  // a real wheel event through the page's own handler
  const wheelT = performance.now();
  view.svg.dispatchEvent(new WheelEvent('wheel', { deltaY: -120, clientX: r.left + 300, clientY: r.top + 300, bubbles: true, cancelable: true }));
  await frame(); await frame();
  const wheelMs = performance.now() - wheelT;
  // selection highlight on a mid-graph node
  const mid = graph.nodes[Math.floor(graph.nodes.length / 2)].id;
  const s0 = performance.now();
  view.select(mid, { notify: false });
  await painted();
  const selectMs = performance.now() - s0;
  return { renders, stepTimes, wheelMs, selectMs,
           domNodes: container.querySelectorAll('*').length,
           edgesDrawn: container.querySelectorAll('.ge').length, nodesDrawn: container.querySelectorAll('.gn').length };
}"""


LIBRARY_MEASURE = """async ({ graph, runs, steps, layoutName }) => {
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const painted = async () => { await frame(); await frame(); };
  const container = document.getElementById('graph');
  const elements = [
    ...graph.nodes.map((n) => ({ data: { id: String(n.id), label: n.label } })),
    ...graph.edges.map((e, i) => ({ data: { id: 'e' + i, source: String(e.source), target: String(e.target) } })),
  ];
  const layout = layoutName === 'dagre'
    ? { name: 'dagre', rankDir: 'LR', nodeSep: 12, rankSep: 90, animate: false }
    : { name: 'elk', elk: { algorithm: 'layered', 'elk.direction': 'RIGHT' }, animate: false };
  const renders = [];
  let cy;
  for (let i = 0; i < runs; i++) {
    if (cy) cy.destroy();
    await painted();
    const t0 = performance.now();
    cy = window.cytoscape({ container, elements, style: [
      { selector: 'node', style: { shape: 'round-rectangle', width: 210, height: 40, label: 'data(label)',
        'font-size': 12, 'text-valign': 'center', 'background-color': '#fff', 'border-width': 1 } },
      { selector: 'edge', style: { 'curve-style': 'bezier', 'target-arrow-shape': 'triangle', width: 1.2 } },
    ], textureOnViewport: true, hideEdgesOnViewport: false });
    const done = new Promise((r) => cy.one('layoutstop', r));
    const t1 = performance.now();
    cy.layout(layout).run();
    await done;
    const t2 = performance.now();
    await painted();
    const t3 = performance.now();
    renders.push({ createMs: t1 - t0, layoutMs: t2 - t1, totalMs: t3 - t0 });
  }
  cy.fit();
  await painted();
  const stepTimes = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    if (i % 3 === 2) cy.panBy({ x: 25, y: -15 });
    else cy.zoom({ level: cy.zoom() * (i % 2 ? 1.08 : 1 / 1.08), renderedPosition: { x: 700, y: 430 } });
    await frame(); await frame();
    stepTimes.push(performance.now() - t);
  }
  const p0 = performance.now();
  const png = cy.png({ full: true, scale: 0.25 });
  const pngMs = performance.now() - p0;
  return { renders, stepTimes, pngMs, pngBytes: png.length };
}"""


def serve_static(route: Any, node_modules: Path | None = None) -> None:
    url = route.request.url
    path = url.split(ORIGIN, 1)[1].split("?", 1)[0]
    if node_modules is not None and path.startswith("/node_modules/"):
        file = (node_modules / path[len("/node_modules/") :]).resolve()
        if file.is_file() and node_modules.resolve() in file.parents:
            route.fulfill(status=200, content_type="text/javascript", body=file.read_bytes())
            return
    if path in ("/", "/bench.html"):
        route.fulfill(status=200, content_type="text/html", body=HARNESS)
        return
    if path.startswith("/static/"):
        file = (STATIC_DIR / path[len("/static/") :]).resolve()
        if file.is_file() and STATIC_DIR in file.parents:
            ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            if file.suffix == ".js":
                ctype = "text/javascript"
            route.fulfill(status=200, content_type=ctype, body=file.read_bytes())
            return
    route.fulfill(status=404, body="not found")


def chromium_version() -> str:
    try:
        out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=20, check=False)
        return out.stdout.strip()
    except OSError:
        return "unknown"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/BENCHMARKS.md")
    parser.add_argument(
        "--compare-library",
        type=Path,
        metavar="NODE_MODULES",
        help="measure cytoscape.js with dagre and ELK layouts from this node_modules folder instead "
        "(for docs/DECISIONS.md); writes bench/results/web_library.json",
    )
    args = parser.parse_args()
    if args.compare_library is not None:
        return compare_library(args.compare_library, args.nodes, args.runs, args.steps)

    from playwright.sync_api import sync_playwright

    graph = synthetic_graph(args.nodes)
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1440, "height": 900},
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.route(f"{ORIGIN}/**", serve_static)
        page.goto(f"{ORIGIN}/bench.html")
        raw = page.evaluate(MEASURE, {"graph": graph, "runs": args.runs, "steps": args.steps})
        context.close()
    if errors:
        print("page errors:", errors, file=sys.stderr)
        return 1

    renders = raw["renders"]
    total = [r["totalMs"] for r in renders]
    steps = raw["stepTimes"]
    js_bytes = sum(p.stat().st_size for p in STATIC_DIR.rglob("*.js"))
    result = {
        "graph": {
            "nodes": len(graph["nodes"]),
            "edges": len(graph["edges"]),
            "layers": renders[0]["layers"],
            "dummy_nodes": renders[0]["dummies"],
            "renderer": renders[0]["mode"],
        },
        "layout_paint_ms": {
            "median": round(statistics.median(total), 1),
            "min": round(min(total), 1),
            "max": round(max(total), 1),
            "runs": [round(t, 1) for t in total],
            "layout_median": round(statistics.median(r["layoutMs"] for r in renders), 1),
            "svg_build_median": round(statistics.median(r["buildMs"] for r in renders), 1),
            "budget": BUDGET_MS,
            "within_budget": statistics.median(total) <= BUDGET_MS,
        },
        "interaction_ms": {
            "zoom_pan_frame_median": round(statistics.median(steps), 1),
            "zoom_pan_frame_p95": round(pct(steps, 0.95), 1),
            "wheel_event_to_paint": round(raw["wheelMs"], 1),
            "select_highlight_to_paint": round(raw["selectMs"], 1),
            "steps": len(steps),
        },
        "static_code": {
            "total_bytes": static_size_bytes(),
            "js_bytes": js_bytes,
            "files": sorted(str(p.relative_to(STATIC_DIR)) for p in STATIC_DIR.rglob("*") if p.is_file()),
            "budget_bytes": SIZE_BUDGET,
            "within_budget": static_size_bytes() <= SIZE_BUDGET,
        },
        "environment": {
            "browser": chromium_version(),
            "flags": CHROMIUM_ARGS,
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpus": __import__("os").cpu_count(),
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("graph", "layout_paint_ms", "interaction_ms")}, indent=2))
    print(f"static code: {result['static_code']['total_bytes']:,} bytes ({js_bytes:,} JS)")
    if not args.no_doc:
        write_doc(result)
    ok = result["layout_paint_ms"]["within_budget"] and result["static_code"]["within_budget"]
    return 0 if ok else 1


LIBRARY_SCRIPTS = {
    "dagre": [
        "cytoscape/dist/cytoscape.min.js",
        "dagre/dist/dagre.min.js",
        "cytoscape-dagre/dist/cytoscape-dagre.js",
    ],
    "elk": [
        "cytoscape/dist/cytoscape.min.js",
        "elkjs/lib/elk.bundled.js",
        "cytoscape-elk/dist/cytoscape-elk.js",
    ],
}


def compare_library(node_modules: Path, nodes: int, runs: int, steps: int) -> int:
    """cytoscape.js + dagre / ELK on the same synthetic graph, same protocol as the page's code."""
    from playwright.sync_api import sync_playwright

    graph = synthetic_graph(nodes)
    out: dict[str, Any] = {"graph": {"nodes": len(graph["nodes"]), "edges": len(graph["edges"])}}
    for name, scripts in LIBRARY_SCRIPTS.items():
        tags = "".join(f'<script src="/node_modules/{s}"></script>' for s in scripts)
        html = HARNESS.replace("</head>", tags + "</head>")
        with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                args=CHROMIUM_ARGS,
                headless=True,
                viewport={"width": 1440, "height": 900},
            )
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))

            def handler(route: Any, _request: Any = None, html: str = html) -> None:
                if route.request.url.split(ORIGIN, 1)[1].split("?", 1)[0] in ("/", "/bench.html"):
                    route.fulfill(status=200, content_type="text/html", body=html)
                else:
                    serve_static(route, node_modules)

            page.route(f"{ORIGIN}/**", handler)
            page.goto(f"{ORIGIN}/bench.html")
            page.set_default_timeout(600_000)
            raw = page.evaluate(
                LIBRARY_MEASURE, {"graph": graph, "runs": runs, "steps": steps, "layoutName": name}
            )
            context.close()
        if errors:
            print(name, "page errors:", errors, file=sys.stderr)
        total = [r["totalMs"] for r in raw["renders"]]
        out[f"cytoscape+{name}"] = {
            "layout_paint_ms_median": round(statistics.median(total), 1),
            "runs": [round(t, 1) for t in total],
            "layout_ms_median": round(statistics.median(r["layoutMs"] for r in raw["renders"]), 1),
            "zoom_pan_frame_median": round(statistics.median(raw["stepTimes"]), 1),
            "zoom_pan_frame_p95": round(pct(raw["stepTimes"], 0.95), 1),
            "png_export_ms": round(raw["pngMs"], 1),
            "errors": errors,
        }
        print(name, json.dumps(out[f"cytoscape+{name}"]))
    out["environment"] = {"browser": chromium_version(), "cpus": __import__("os").cpu_count()}
    target = RESULTS.with_name("web_library.json")
    target.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


def write_doc(r: dict[str, Any]) -> None:
    g, lp, ia, sc = r["graph"], r["layout_paint_ms"], r["interaction_ms"], r["static_code"]
    section = f"""## Web page

`python bench/bench_web.py` — the dashboard's own graph modules (`graph-layout.js`, `graph-view.js`)
in headless Chromium ({r["environment"]["browser"]}, `--disable-gpu`, {r["environment"]["cpus"]} CPUs), on a
synthetic lineage-shaped DAG of **{g["nodes"]:,} nodes / {g["edges"]:,} edges** in {g["layers"]} layers
({g["dummy_nodes"]:,} dummy nodes for long edges). Graphs above 500 nodes are drawn on a canvas
(viewport culling, labels only when readable, one bitmap move per pan/zoom frame and a full redraw
140 ms after the gesture settles) under a transparent SVG index (one clickable `g.gn[data-name]` per
node, moved when a gesture settles); smaller ones as SVG. Renderer here: **{g["renderer"]}**.
Answers above 2,000 nodes open collapsed by hop (the page's render cap), so this is the largest
graph the page lays out at once. cytoscape.js with dagre / ELK on the same graph: see
docs/DECISIONS.md (`--compare-library`).

| measure | result | budget |
| --- | --- | --- |
| layout + render set-up + first paint (median of {len(lp["runs"])}) | **{lp["median"]:.0f} ms** (min {lp["min"]:.0f}, max {lp["max"]:.0f}) | ≤ {lp["budget"]:.0f} ms |
| of which layout (Sugiyama: cycle breaking, longest-path layers, barycentric sweeps, coordinates) | {lp["layout_median"]:.0f} ms | |
| of which renderer set-up (edge paths, node boxes) | {lp["svg_build_median"]:.0f} ms | |
| zoom/pan step → painted frame, whole graph in view (median / p95 of {ia["steps"]}) | {ia["zoom_pan_frame_median"]:.1f} / {ia["zoom_pan_frame_p95"]:.1f} ms | interactive |
| wheel event → painted frame | {ia["wheel_event_to_paint"]:.1f} ms | |
| click → lineage highlighted and painted | {ia["select_highlight_to_paint"]:.1f} ms | |
| page's own code (HTML + CSS + JS + icon), uncompressed | **{sc["total_bytes"] / 1024:.1f} KB** ({sc["js_bytes"] / 1024:.1f} KB JS, {len(sc["files"])} files) | ≤ {sc["budget_bytes"] // 1024} KB |

Frame times include waiting for two animation frames (about 16.7 ms each at 60 Hz), so ~33 ms is
the floor of that measure. No third-party code: plain ES modules, no build step, no npm packages.
Raw numbers: `bench/results/web.json`.
"""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    start = text.find("## Web page")
    if start >= 0:
        nxt = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[nxt + 1 :] if nxt >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
