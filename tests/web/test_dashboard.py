"""The dashboard in a real browser (Chromium, headless) against a real `finlineage serve` with the
demo warehouse: live stats, upload with progress, search → column lineage graph, streamed cited
answers, admin restart, auth prompt, WebSocket reconnect."""

from __future__ import annotations

import io
import itertools
import os
import signal
import zipfile
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import open_dashboard

pytestmark = pytest.mark.browser

LIVE = "document.querySelector('#conn').dataset.state === 'live'"


def stat_value(page: Any, key: str) -> int:
    text = page.locator(f"#stat-{key}").inner_text().replace(",", "")
    return int(text) if text.isdigit() else -1


# ---------------------------------------------------------------------------------- overview


def test_page_loads_and_stats_update_live(serve: Any, page: Any) -> None:
    server = serve()
    stats = server.api("GET", "/api/v1/stats").json()
    open_dashboard(page, server)
    page.wait_for_function(LIVE)
    expect(page.locator("#stat-totalNodes")).to_have_text(f"{stats['totalNodes']:,}")
    expect(page.locator("#stat-tables")).to_have_text(f"{stats['tables']:,}")
    # stats_update keeps arriving over the socket (every 0.5 s here)
    seen = int(page.evaluate("Number(document.body.dataset.statsUpdates)"))
    page.wait_for_function(f"Number(document.body.dataset.statsUpdates) >= {seen + 2}")
    # the recent activity includes the demo ingestion run
    expect(page.locator("#runs .run").first).to_be_visible()

    # new SQL ingested behind the page's back shows up live, without a reload
    tables_before = stat_value(page, "tables")
    files_before = stat_value(page, "filesProcessed")
    r = server.api(
        "POST",
        "/api/v1/ingest/sql",
        params={"wait": "true"},
        json={
            "sql": "CREATE TABLE rpt.web_live_check (id INT, amount_usd DECIMAL(18,2));",
            "project_id": "demo",
            "repository_name": "web-live",
            "path": "web/live_check.sql",
        },
    )
    assert r.status_code == 200, r.text
    expect(page.locator("#stat-tables")).to_have_text(f"{tables_before + 1:,}")
    expect(page.locator("#stat-filesProcessed")).to_have_text(f"{files_before + 1:,}")
    # ...and the run's completion reached the activity feed live
    expect(page.locator("#activity li[data-type='ingestion_complete']").first).to_be_visible()


# ---------------------------------------------------------------------------------- ingest


def test_upload_completes_with_progress(serve: Any, page: Any) -> None:
    server = serve()
    open_dashboard(page, server, "#/ingest")
    page.wait_for_function(LIVE)
    expect(page.locator("#ingest-project option", has_text="demo")).to_have_count(1)

    # a new project created from the page
    page.click("#new-project-toggle")
    page.fill("#new-project-name", "web-upload")
    page.click("#new-project-create")
    expect(page.locator("#ingest-project option:checked")).to_contain_text("web-upload")
    page.fill("#ingest-repo", "treasury")
    page.select_option("#ingest-dialect", "postgres")

    files = [
        {
            "name": "ddl/positions.sql",
            "mimeType": "text/plain",
            "buffer": b"CREATE TABLE tre.positions (book TEXT, isin TEXT, qty NUMERIC, px NUMERIC);\n",
        },
        {
            "name": "views/exposure.sql",
            "mimeType": "text/plain",
            "buffer": b"CREATE VIEW tre.exposure AS\nSELECT book, SUM(qty * px) AS exposure\nFROM tre.positions\nGROUP BY book;\n",
        },
        {
            "name": "broken.sql",
            "mimeType": "text/plain",
            "buffer": b"CREATE TABLE tre.bad (a INT);\n-- \xc3\x28\x80\x81 latin-1 bytes\n",
        },
    ]
    page.set_input_files("#pick-files", files=files)
    expect(page.locator("#picked li")).to_have_count(4)  # header + 3 files
    # record every phase / percentage the progress block goes through
    page.evaluate(
        """() => {
        window.__progress = [];
        const note = () => window.__progress.push(
            document.querySelector('#ingest-phase').textContent + ' ' + document.querySelector('#ingest-pct').textContent);
        new MutationObserver(note).observe(document.querySelector('#ingest-progress'), {subtree: true, childList: true, characterData: true});
    }"""
    )
    page.click("#ingest-submit")
    # one file could not be read: the run finishes, with errors, and says so
    expect(page.locator("#ingest-status")).to_have_attribute(
        "data-status", "completed_with_errors", timeout=60_000
    )
    expect(page.locator("#ingest-status")).to_have_text("completed with errors")
    expect(page.locator("#ingest-pct")).to_have_text("100%")
    rows = page.locator("#ingest-results li.result")
    expect(rows).to_have_count(3)
    expect(page.locator("#ingest-results li[data-path='views/exposure.sql']")).to_have_attribute(
        "data-status", "processed"
    )
    # the failed file comes first
    expect(rows.first).to_have_attribute("data-path", "broken.sql")
    expect(rows.first).to_have_attribute("data-status", "error")
    expect(page.locator("#ingest-results li[data-path='broken.sql'] .msgs li.error")).to_contain_text("UTF-8")
    expect(page.locator("#ingest-summary")).to_contain_text("Processed")
    progress = page.evaluate("window.__progress")
    assert any(p.startswith("Uploading") for p in progress), progress
    assert any(p.startswith("Parsing") or p.startswith("Completed") for p in progress), progress

    # the run appears on the overview, finished, with its bar full
    page.click("nav a[data-view='overview']")
    run = page.locator("#runs .run[data-status='completed_with_errors']").first
    expect(run).to_be_visible()
    expect(run.locator(".bar")).to_have_attribute("style", "width: 100%;")
    # the server agrees
    objects = server.api("GET", "/api/v1/lineage/node/tre.exposure").json()
    assert objects["canonical_id"] == "tre.exposure"


def test_upload_zip_archive(serve: Any, page: Any) -> None:
    server = serve()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("risk/limits.sql", "CREATE TABLE lim.limits (cpty TEXT, limit_usd NUMERIC);\n")
        zf.writestr(
            "risk/breaches.sql",
            "CREATE VIEW lim.breaches AS SELECT cpty FROM lim.limits WHERE limit_usd < 0;\n",
        )
    open_dashboard(page, server, "#/ingest")
    page.select_option(
        "#ingest-project", label=page.locator("#ingest-project option", has_text="demo").inner_text()
    )
    page.set_input_files(
        "#pick-zip", files=[{"name": "risk.zip", "mimeType": "application/zip", "buffer": buf.getvalue()}]
    )
    page.click("#ingest-submit")
    expect(page.locator("#ingest-status")).to_have_attribute("data-status", "completed", timeout=60_000)
    expect(page.locator("#ingest-results li.result")).to_have_count(2)
    assert server.api("GET", "/api/v1/lineage/node/lim.breaches").status_code == 200


# ---------------------------------------------------------------------------------- explore


def test_search_opens_report_column_graph_with_upstream_feed(shared_server: Any, page: Any) -> None:
    server = shared_server
    open_dashboard(page, server, "#/explore")
    page.fill("#search", "exposure_usd")
    suggestion = page.locator("#suggestions li[data-ref='rpt.regulatory_exposure.exposure_usd']")
    expect(suggestion).to_be_visible()
    suggestion.click()
    graph = page.locator("#graph")
    expect(graph).to_have_attribute("data-root", "rpt.regulatory_exposure.exposure_usd")
    expect(graph).to_have_attribute("data-state", "ready")
    expect(page.locator("[data-gran='column']")).to_have_class("on")
    assert "column=rpt.regulatory_exposure.exposure_usd" in page.url
    # the root is drawn, selected, and its definition shown with the column's line highlighted
    expect(page.locator(".gn.root[data-name='rpt.regulatory_exposure.exposure_usd']")).to_be_visible()
    expect(page.locator("#detail-definition .node-title")).to_have_text(
        "rpt.regulatory_exposure.exposure_usd"
    )
    expect(page.locator("#definition-code .ln.hl mark").first).to_have_text("exposure_usd")

    # deeper: the trade feed (raw.venue_a_trades) appears upstream
    page.locator("#depth").fill("12")
    page.locator("#depth").dispatch_event("change")
    expect(graph).to_have_attribute("data-depth", "12")
    expect(graph).to_have_attribute("data-state", "ready")
    assert "depth=12" in page.url
    feed = page.locator(".gn[data-name^='raw.venue_a_trades.']")
    expect(feed.first).to_be_attached(timeout=30_000)
    assert feed.count() >= 3
    nodes = int(graph.get_attribute("data-nodes") or 0)
    assert nodes > 20

    # click a feed column: its definition opens with its file, the lines naming it highlighted
    page.click("#zoom-fit")
    qty = page.locator(".gn[data-name='raw.venue_a_trades.qty']")
    qty.dispatch_event("pointerdown", {"button": 0, "pointerId": 1})
    qty.dispatch_event("pointerup", {"button": 0, "pointerId": 1})
    expect(page.locator("#detail-definition .node-title")).to_have_text("raw.venue_a_trades.qty")
    expect(page.locator("#detail-definition .node-meta .file")).to_contain_text(
        "tsql/ddl/raw_venue_feeds.sql"
    )
    expect(page.locator("#definition-code .ln.hl").first).to_contain_text("qty")
    # highlighting: the selection's lineage stays lit, unrelated nodes dim
    expect(page.locator(".ge.hl").first).to_be_attached()

    # impact: what breaks downstream of the feed table
    page.click(".tabs [data-tab='impact']")
    expect(page.locator("#impact-total")).not_to_have_text("0")
    impact = server.api("GET", "/api/v1/lineage/impact/raw.venue_a_trades", params={"depth": 10}).json()
    expect(page.locator("#impact-total")).to_have_text(f"{impact['total']:,}")
    expect(page.locator("#detail-impact .chip[data-node='rpt.regulatory_exposure']")).to_be_visible()


def test_explore_table_granularity_pan_zoom_and_directions(shared_server: Any, page: Any) -> None:
    server = shared_server
    open_dashboard(page, server, "#/explore?node=crd.counterparty_exposure&dir=both&depth=2")
    graph = page.locator("#graph")
    expect(graph).to_have_attribute("data-state", "ready")
    expect(page.locator(".gn[data-name='rpt.regulatory_exposure']")).to_be_attached()  # downstream
    expect(page.locator(".gn[data-name='crd.exposure_net_of_collateral']")).to_be_attached()  # upstream
    # layered left to right: upstream nodes left of the root, downstream right of it
    xs = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.gn')].map(
             g => [g.dataset.name, g.transform.baseVal.getItem(0).matrix.e]))"""
    )
    assert (
        xs["crd.exposure_net_of_collateral"] < xs["crd.counterparty_exposure"] < xs["rpt.regulatory_exposure"]
    )
    # zoom and pan move the one viewport transform
    before = page.locator(".viewport").get_attribute("transform")
    page.click("#zoom-in")
    page.wait_for_function(f"document.querySelector('.viewport').getAttribute('transform') !== {before!r}")
    box = graph.bounding_box()
    page.mouse.move(box["x"] + 200, box["y"] + 200)
    page.mouse.down()
    page.mouse.move(box["x"] + 320, box["y"] + 260, steps=4)
    page.mouse.up()
    page.mouse.wheel(0, -300)
    after = page.locator(".viewport").get_attribute("transform")
    assert after != before
    # switch to columns: the same object at column granularity
    page.click("[data-gran='column']")
    expect(page.locator(".gn[data-name='crd.counterparty_exposure.ead_usd']")).to_be_attached()
    # downstream only
    page.click("[data-dir='downstream']")
    expect(page.locator("#graph-title")).to_contain_text("Downstream of")


# ---------------------------------------------------------------------------------- ask


def test_question_gets_streamed_cited_answer(shared_server: Any, page: Any) -> None:
    server = shared_server
    open_dashboard(page, server, "#/ask")
    page.click("#ask-modes [data-mode='graph']")
    page.click("#ask-modes [data-mode='text']")
    page.fill("#ask-input", "Where does rpt.regulatory_exposure.exposure_usd come from?")
    page.click("#ask-send")
    answer = page.locator(".msg.assistant").last
    expect(answer).to_have_attribute("data-state", "done", timeout=60_000)
    assert int(answer.get_attribute("data-deltas") or 0) > 1, "the answer was not streamed in pieces"
    expect(answer.locator(".body")).to_contain_text("crd.counterparty_exposure")
    sources = answer.locator(".src")
    assert sources.count() >= 3
    expect(answer.locator(".meta")).to_contain_text("mode text")
    # a cited source opens the node in the graph
    first = answer.locator(".src button.link").first
    label = first.inner_text()
    first.click()
    expect(page.locator("body")).to_have_attribute("data-view", "explore")
    expect(page.locator("#graph")).to_have_attribute("data-state", "ready")
    expect(page.locator("#graph")).to_have_attribute("data-root", label)
    # the question was counted as a live event on the server
    events = server.api("GET", "/api/v1/activity/recent", params={"type": "query_complete"}).json()
    assert events["count"] >= 1


# ---------------------------------------------------------------------------------- admin


def test_restart_shows_page_recovering(serve: Any, page: Any) -> None:
    server = serve()
    pid_before = server.wait_healthy()["components"]["events"]["pid"]
    open_dashboard(page, server, "#/admin")
    page.wait_for_function(LIVE)
    expect(page.locator("#health-table tr[data-component='database'] .badge")).to_have_text("up")
    instance = page.evaluate("window.finlineage.state.ack.instance_id")
    page.evaluate(
        """() => {
        window.__conn = [];
        new MutationObserver(() => window.__conn.push(document.querySelector('#conn').dataset.state))
          .observe(document.querySelector('#conn'), {attributes: true, attributeFilter: ['data-state']});
        window.__status = [];
        new MutationObserver(() => window.__status.push(document.querySelector('#server-status').dataset.status))
          .observe(document.querySelector('#server-status'), {attributes: true, attributeFilter: ['data-status']});
    }"""
    )
    page.click("#restart")
    expect(page.locator("#restart")).to_have_text("Click again to confirm restart")
    page.click("#restart")
    expect(page.locator("#restart-log")).to_contain_text("restart accepted")
    expect(page.locator("#restart-log")).to_contain_text("back online", timeout=60_000)
    expect(page.locator("#server-status")).to_have_attribute("data-status", "healthy")
    page.wait_for_function(LIVE)
    page.wait_for_function(f"window.finlineage.state.ack.instance_id !== {instance!r}")
    assert "restarting" in page.evaluate("window.__status")
    assert "reconnecting" in page.evaluate("window.__conn")
    expect(page.locator("#banner")).to_contain_text("back")
    # re-exec in place: same process id, new instance
    assert server.wait_healthy()["components"]["events"]["pid"] == pid_before


# ---------------------------------------------------------------------------------- auth


def test_auth_prompt_when_auth_is_on(serve: Any, page: Any) -> None:
    server = serve(auth=True, keys=("viewer",))
    # the page and its code are public; the data is not
    assert server.api("GET", "/").status_code == 200
    assert server.api("GET", "/static/js/app.js").status_code == 200
    assert server.api("GET", "/api/v1/stats").status_code == 401
    open_dashboard_no_wait = page.goto(f"{server.url}/")
    assert open_dashboard_no_wait is not None
    dialog = page.locator("#key-dialog")
    expect(dialog).to_be_visible()
    page.fill("#key-input", "flk_not-a-real-key")
    page.click("#key-save")
    expect(page.locator("#key-error")).to_contain_text("not accepted")
    page.fill("#key-input", server.keys["viewer"])
    page.click("#key-save")
    expect(dialog).to_be_hidden()
    page.wait_for_function("document.body.dataset.ready === 'true'")
    page.wait_for_function(LIVE)  # the WebSocket authenticated with ?token=
    stats = server.api("GET", "/api/v1/stats", key=server.keys["viewer"]).json()
    expect(page.locator("#stat-totalNodes")).to_have_text(f"{stats['totalNodes']:,}")
    assert page.evaluate("sessionStorage.getItem('finlineage.apiKey')") == server.keys["viewer"]
    # a viewer cannot restart: the page says why
    page.click("nav a[data-view='admin']")
    page.click("#restart")
    page.click("#restart")
    expect(page.locator("#restart-log")).to_contain_text("admin key")
    # a reload keeps the key for the tab
    page.reload()
    page.wait_for_function("document.body.dataset.ready === 'true'")
    expect(dialog).to_be_hidden()


# ---------------------------------------------------------------------------------- reconnect


def test_ws_reconnect_indicator_after_server_restart(serve: Any, page: Any) -> None:
    server = serve()
    open_dashboard(page, server)
    page.wait_for_function(LIVE)
    connects = int(page.locator("#conn").get_attribute("data-connects") or 0)
    # the process goes away (not via the admin route) and comes back on the same port
    assert server.proc is not None
    os.killpg(server.proc.pid, signal.SIGTERM)
    server.proc.wait(timeout=30)
    server.proc = None
    expect(page.locator("#conn")).to_have_attribute("data-state", "reconnecting")
    expect(page.locator("#conn-text")).to_contain_text("Reconnecting")
    server.start()
    page.wait_for_function(LIVE, timeout=60_000)
    assert int(page.locator("#conn").get_attribute("data-connects") or 0) == connects + 1
    expect(page.locator("#banner")).to_contain_text("back")
    # live data flows again after the reconnect
    seen = int(page.evaluate("Number(document.body.dataset.statsUpdates)"))
    page.wait_for_function(f"Number(document.body.dataset.statsUpdates) > {seen}")


def test_backoff_grows_with_jitter_and_is_capped(shared_server: Any, page: Any) -> None:
    server = shared_server
    open_dashboard(page, server)
    delays = page.evaluate(
        """async () => {
        const { LiveSocket } = await import('/static/js/ws.js');
        const s = new LiveSocket({ baseDelayMs: 500, maxDelayMs: 8000 });
        const out = [];
        for (let i = 0; i < 9; i++) { s.attempt = i; out.push(s.nextDelay()); }
        return out;
    }"""
    )
    steps = [min(8000, 500 * 2**i) for i in range(9)]
    for d, step in zip(delays, steps, strict=True):
        assert step * 0.5 <= d <= step, (delays, steps)
    assert max(delays) <= 8000


# ---------------------------------------------------------------------------------- layout


def test_layout_is_layered_left_to_right_without_overlaps(shared_server: Any, page: Any) -> None:
    server = shared_server
    open_dashboard(page, server)
    result = page.evaluate(
        """async () => {
        const { layout } = await import('/static/js/graph-layout.js');
        // a diamond, a long edge, a cycle and a second component
        const nodes = 'abcdefgxyz'.split('').map((id) => ({ id }));
        const edges = [['a','b'],['a','c'],['b','d'],['c','d'],['a','d'],['d','e'],['e','f'],['f','e'],['x','y'],['y','z'],['g','d']]
          .map(([source, target]) => ({ source, target }));
        const r = layout(nodes, edges);
        const pos = Object.fromEntries([...r.nodes].map(([id, p]) => [id, p]));
        return { pos, edges: r.edges.length, dummies: r.dummies };
    }"""
    )
    pos = result["pos"]
    assert pos["a"]["x"] < pos["b"]["x"] < pos["d"]["x"] < pos["e"]["x"]
    assert pos["x"]["x"] < pos["y"]["x"] < pos["z"]["x"]
    assert pos["g"]["layer"] == pos["d"]["layer"] - 1  # a source sits next to its consumer
    assert result["dummies"] >= 1  # a → d spans two layers
    by_layer: dict[int, list[dict[str, float]]] = {}
    for p in pos.values():
        by_layer.setdefault(p["layer"], []).append(p)
    for items in by_layer.values():
        items.sort(key=lambda p: p["y"])
        for a, b in itertools.pairwise(items):
            assert a["y"] + a["h"] <= b["y"], "nodes overlap within a layer"


def test_static_code_within_budget() -> None:
    from finlineage.web import STATIC_DIR, static_size_bytes

    assert static_size_bytes() <= 500 * 1024
    for path in STATIC_DIR.rglob("*.js"):
        text = path.read_text(encoding="utf-8")
        assert "sourceMappingURL" not in text
        assert max(len(line) for line in text.splitlines()) < 400, f"{path.name} looks minified"
