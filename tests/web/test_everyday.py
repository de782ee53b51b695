"""Everyday fixes of the page (issue 18) in a real Chromium against a real `finlineage serve`:
project scope in every address with a chooser for names in several projects, ingest failures
first with `path:line:col: message` linking to the file view, a 390 px phone layout without
horizontal scrolling (touch pan and pinch in the graph), and an activity feed of people's actions."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import expect

from .conftest import Server, open_dashboard

pytestmark = pytest.mark.browser

COLUMN = "rpt.regulatory_exposure.exposure_usd"
LIVE = "document.querySelector('#conn').dataset.state === 'live'"
PEOPLE = {
    "ingestion_started",
    "ingestion_complete",
    "ingestion_failed",
    "ingestion_completed_with_errors",
    "ingestion_cancelled",
    "ingestion_interrupted",
    "query_complete",
    "error",
    "action",
}


def hash_params(page: Any) -> dict[str, str]:
    query = page.url.split("#", 1)[1].split("?", 1)[1] if "?" in page.url.split("#", 1)[1] else ""
    return {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}


def ingest_sql(server: Server, project: str, path: str, sql: str) -> dict[str, Any]:
    r = server.api(
        "POST",
        "/api/v1/ingest/sql",
        params={"wait": "true"},
        json={"sql": sql, "project_id": project, "repository_name": "second-repo", "path": path},
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------- project scope


def test_project_in_every_address_and_a_chooser_for_shared_names(serve: Any, page: Any) -> None:
    server = serve()
    created = server.api("POST", "/api/v1/projects", json={"name": "second"})
    assert created.status_code == 201, created.text
    second = str(created.json()["id"])
    ingest_sql(
        server,
        "second",
        "second/rpt.sql",
        "CREATE TABLE rpt.regulatory_exposure (exposure_usd DECIMAL(18,2), src_amount DECIMAL(18,2));\n"
        "CREATE TABLE sec.only_here (a INT);\n",
    )
    demo = str(
        next(p["id"] for p in server.api("GET", "/api/v1/projects").json()["items"] if p["name"] == "demo")
    )

    # a first visit lands in a project (never "All projects"), written into the address
    open_dashboard(page, server, "#/overview")
    chosen = page.locator("#project-select").input_value()
    assert chosen in (demo, second)
    assert hash_params(page)["project"] == chosen
    for view in ("ingest", "explore", "review", "versions", "admin"):
        expect(page.locator(f".nav a[data-view='{view}']")).to_have_attribute(
            "href", re.compile(rf"project={chosen}(&|$)")
        )

    # search across all projects: suggestions carry the project
    page.goto(f"{server.url}/#/explore?project=")
    page.wait_for_function("document.body.dataset.ready === 'true'")
    page.fill("#search", "regulatory_exposure")
    labels = page.locator("#suggestions li[data-ref='rpt.regulatory_exposure'] .pj")
    expect(labels).to_have_count(2)
    assert sorted(labels.all_inner_texts()) == ["demo", "second"]

    # a name in two projects opens a chooser instead of an error
    page.goto(f"{server.url}/#/explore?node=rpt.regulatory_exposure&dir=upstream&depth=2&project=")
    chooser = page.locator("#chooser")
    expect(chooser).to_be_visible()
    expect(chooser.locator(".chooser-pick")).to_have_count(2)
    chooser.locator(f".chooser-pick[data-project='{second}']").click()
    expect(page.locator("#graph")).to_have_attribute("data-state", "ready")
    expect(page.locator("#graph")).to_have_attribute("data-root", "rpt.regulatory_exposure")
    assert hash_params(page)["project"] == second
    expect(page.locator("#project-select")).to_have_value(second)

    # a name found only in another project opens there
    page.goto(f"{server.url}/#/explore?node=sec.only_here&dir=upstream&depth=1&project={demo}")
    expect(page.locator("#graph")).to_have_attribute("data-root", "sec.only_here")
    expect(page.locator("#project-select")).to_have_value(second)
    assert hash_params(page)["project"] == second

    # the last used project is the default next time
    page.goto(f"{server.url}/#/overview")
    page.wait_for_function("document.body.dataset.ready === 'true'")
    expect(page.locator("#project-select")).to_have_value(second)
    assert hash_params(page)["project"] == second


# ---------------------------------------------------------------------------------- ingest results


def test_failed_files_first_with_locations_linking_to_the_file(serve: Any, page: Any) -> None:
    server = serve()
    open_dashboard(page, server, "#/ingest")
    page.fill("#ingest-repo", "errors")
    bad = b"CREATE TABLE chk.ok_table (a INT);\n\nSELECT a FROM chk.ok_table WHERE;\n"
    page.set_input_files(
        "#pick-files",
        files=[
            {"name": "a_first.sql", "mimeType": "text/plain", "buffer": b"CREATE TABLE chk.first (a INT);\n"},
            {"name": "z_broken/deep/path/with_a_long_name.sql", "mimeType": "text/plain", "buffer": bad},
        ],
    )
    page.click("#ingest-submit")
    status = page.locator("#ingest-status")
    expect(status).to_have_attribute("data-status", "completed_with_errors", timeout=60_000)
    expect(status).to_have_text("completed with errors")
    rows = page.locator("#ingest-results li.result")
    expect(rows).to_have_count(2)
    failed = rows.first
    expect(failed).to_have_attribute("data-path", "z_broken/deep/path/with_a_long_name.sql")
    message = failed.locator(".msgs li.error").first
    expect(message).to_contain_text(re.compile(r"^z_broken/deep/path/with_a_long_name\.sql:3:\d+: \S"))
    link = message.locator("a.loc")
    expect(link).to_have_attribute("href", re.compile(r"line=3"))
    # readable at any width: the message wraps inside a 390 px screen
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate(
        "(el) => el.scrollWidth <= el.clientWidth && el.getBoundingClientRect().right <= innerWidth",
        message.element_handle(),
    )
    link.click()
    expect(page.locator("body")).to_have_attribute("data-view", "file")
    expect(page.locator("#file-title")).to_have_text("z_broken/deep/path/with_a_long_name.sql")
    expect(page.locator("#file-code .ln.hl")).to_have_count(1)
    expect(page.locator("#file-code .ln.hl")).to_have_attribute("data-line", "3")
    expect(page.locator("#file-code .ln.hl")).to_contain_text("WHERE;")


# ---------------------------------------------------------------------------------- 390 px phone

OVERFLOW = """() => {
  const W = document.documentElement.clientWidth;
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (!r.width || r.right <= W + 1 || getComputedStyle(el).position === 'fixed') continue;
    let p = el.parentElement;
    let clipped = false;
    while (p && p !== document.body) {
      const s = getComputedStyle(p);
      if (s.position === 'fixed') { clipped = true; break; }
      if (/(hidden|auto|scroll|clip)/.test(s.overflowX) && p.getBoundingClientRect().right <= W + 1) { clipped = true; break; }
      p = p.parentElement;
    }
    if (!clipped) bad.push(`${el.tagName.toLowerCase()}#${el.id}.${String(el.className?.baseVal ?? el.className)}`);
  }
  return { scroll: document.documentElement.scrollWidth - W, body: document.body.scrollWidth - W, bad: bad.slice(0, 8) };
}"""


def test_phone_390_no_horizontal_scrolling_nav_collapses_graph_touch(
    shared_server: Server, phone: Any
) -> None:
    server = shared_server
    page = phone
    # a proposed edge, so the review view has an item (walks follow observed + approved edges only)
    proposed = server.api(
        "POST",
        "/api/v1/lineage/edges",
        json={
            "project_id": "demo",
            "source": "raw.venue_a_trades.px",
            "target": COLUMN,
            "note": "phone check",
        },
    )
    assert proposed.status_code in (201, 409), proposed.text
    views = [
        "#/overview",
        "#/ingest",
        f"#/explore?column={COLUMN}&dir=upstream&depth=4",
        "#/ask",
        "#/review",
        "#/versions",
        "#/admin",
        "#/file?path=tsql/ddl/raw_venue_feeds.sql&line=3",
    ]
    for hash_ in views:
        open_dashboard(page, server, hash_)
        if "explore" in hash_:
            expect(page.locator("#graph")).to_have_attribute("data-state", "ready")
            expect(page.locator("#definition-code")).to_be_visible()
        if "review" in hash_:
            expect(page.locator("[data-testid=review-item]").first).to_be_visible()
        if "file" in hash_:
            expect(page.locator("#file-code .ln.hl")).to_have_count(1)
        page.wait_for_load_state("networkidle")
        out = page.evaluate(OVERFLOW)
        assert out["scroll"] <= 0 and out["body"] <= 0 and not out["bad"], (hash_, out)

    # navigation collapses behind a menu button
    sidebar = page.locator("#sidebar")
    assert (sidebar.bounding_box() or {"x": 0, "width": 1})["x"] + (sidebar.bounding_box() or {})[
        "width"
    ] <= 0
    expect(page.locator("#nav-toggle")).to_be_visible()
    page.click("#nav-toggle")
    page.wait_for_function("document.querySelector('#sidebar').getBoundingClientRect().left >= 0")
    page.click(".nav a[data-view='explore']")
    page.wait_for_function("document.querySelector('#sidebar').getBoundingClientRect().right <= 0")

    # the graph pans with one finger and zooms with two
    expect(page.locator("#graph")).to_have_attribute("data-state", "ready")
    box = page.locator("#graph").bounding_box()
    assert box is not None and box["height"] >= 300 and box["width"] <= 390
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    viewport = page.locator("#graph .viewport")

    def touch(kind: str, pid: int, px: float, py: float) -> None:
        page.dispatch_event(
            "#graph",
            kind,
            {
                "pointerType": "touch",
                "pointerId": pid,
                "clientX": px,
                "clientY": py,
                "button": 0,
                "isPrimary": pid == 1,
                "bubbles": True,
            },
        )

    before = viewport.get_attribute("transform")
    touch("pointerdown", 1, x, y)
    for step in range(1, 6):
        touch("pointermove", 1, x + step * 12, y + step * 8)
    touch("pointerup", 1, x + 60, y + 40)
    page.wait_for_function(
        f"document.querySelector('#graph .viewport').getAttribute('transform') !== {before!r}"
    )
    panned = viewport.get_attribute("transform") or ""
    scale = float(re.search(r"scale\(([\d.]+)\)", panned).group(1))  # type: ignore[union-attr]
    touch("pointerdown", 1, x - 20, y)
    touch("pointerdown", 2, x + 20, y)
    for step in range(1, 6):
        touch("pointermove", 1, x - 20 - step * 15, y)
        touch("pointermove", 2, x + 20 + step * 15, y)
    touch("pointerup", 1, x - 95, y)
    touch("pointerup", 2, x + 95, y)
    page.wait_for_function(
        f"document.querySelector('#graph .viewport').getAttribute('transform') !== {panned!r}"
    )
    zoomed = float(re.search(r"scale\(([\d.]+)\)", viewport.get_attribute("transform") or "").group(1))  # type: ignore[union-attr]
    assert zoomed > scale * 1.5


# ---------------------------------------------------------------------------------- activity feed


def test_activity_feed_shows_people_actions_only(serve: Any, page: Any) -> None:
    server = serve()
    open_dashboard(page, server, "#/overview")
    page.wait_for_function(LIVE)
    # noise: the page's own reads, an unmatched request
    assert server.api("GET", "/api/v1/no-such-route").status_code == 404
    assert server.api("GET", "/api/v1/stats").status_code == 200
    # people's actions: an ingestion, a question, an admin action (a new project)
    run = ingest_sql(server, "demo", "feed/check.sql", "CREATE TABLE rpt.feed_check (id INT);\n")
    asked = server.api("POST", "/api/chat/text", json={"query": "Where does rpt.feed_check.id come from?"})
    assert asked.status_code == 200, asked.text
    assert server.api("POST", "/api/v1/projects", json={"name": "feed-admin"}).status_code == 201
    page.reload()
    page.wait_for_function("document.body.dataset.ready === 'true'")
    feed = page.locator("#activity li[data-type]")
    expect(feed.first).to_be_visible()
    expect(page.locator("#activity li[data-type='action']").first).to_contain_text("POST /api/v1/projects")
    expect(page.locator("#activity li[data-type='query_complete']").first).to_be_visible()
    done = page.locator("#activity li[data-type='ingestion_complete']").first
    expect(done).to_contain_text(f"run {run['run_id']}")
    expect(done).to_contain_text(f"{run['files_processed']} files processed")
    items = page.evaluate(
        "[...document.querySelectorAll('#activity li[data-type]')].map(li => [li.dataset.type, li.textContent, li.querySelector('.t').textContent, li.querySelector('.t').title])"
    )
    for kind, text, when, hover in items:
        assert kind in PEOPLE, (kind, text)
        assert "<unmatched>" not in text and "/api/v1/stats" not in text and "GET " not in text, text
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", when), when  # absolute local time
        assert "ago" in hover or "just now" in hover, hover  # relative on hover
    # the numbers on the overview are /api/v1/stats'
    stats = server.api("GET", "/api/v1/stats").json()
    expect(page.locator("#stat-totalNodes")).to_have_text(f"{stats['totalNodes']:,}")
    expect(page.locator("#stat-filesProcessed")).to_have_text(f"{stats['filesProcessed']:,}")
