"""Review (maker-checker) and versions views (issue 18) in a real Chromium against a real
`finlineage serve` with auth on: a proposed edge shows source, target, note and maker; the maker
cannot approve it, another person approves it with a comment; history per edge; versions with a
diff between two of them, exported as markdown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import Server

pytestmark = pytest.mark.browser

SOURCE = "raw.venue_a_trades.qty"
TARGET = "rpt.regulatory_exposure.rwa_usd"
NOTE = "risk desk spreadsheet feeds RWA by hand"


def sign_in(browser: Any, server: Server, role: str, hash_: str) -> Any:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    page.goto(f"{server.url}/{hash_}")
    expect(page.locator("#key-dialog")).to_be_visible()
    page.fill("#key-input", server.keys[role])
    page.click("#key-save")
    page.wait_for_function("document.body.dataset.ready === 'true'")
    page.wait_for_function("document.querySelector('#conn').dataset.state === 'live'")
    return page


def test_review_view_maker_checker_with_history(serve: Any, browser: Any) -> None:
    server = serve(auth=True, keys=("editor", "admin"))
    made = server.api(
        "POST",
        "/api/v1/lineage/edges",
        key=server.keys["editor"],
        json={"project_id": "demo", "source": SOURCE, "target": TARGET, "kind": "direct", "note": NOTE},
    )
    if made.status_code == 404 and made.json().get("message") == "Not Found":
        pytest.skip("missing route: POST /api/v1/lineage/edges")
    assert made.status_code == 201, made.text
    edge = made.json()

    # the maker sees the item, with source, target, note and maker, but cannot approve it
    maker = sign_in(browser, server, "editor", "#/review")
    item = maker.locator(f"[data-testid=review-item][data-ref='{edge['ref']}']")
    expect(item).to_be_visible()
    expect(item.locator("[data-testid=review-source]")).to_have_text(SOURCE)
    expect(item.locator("[data-testid=review-target]")).to_have_text(TARGET)
    expect(item.locator("[data-testid=review-note]")).to_have_text(NOTE)
    expect(item.locator("[data-testid=review-maker]")).to_contain_text("web-editor")
    expect(item).to_have_attribute("data-own", "true")
    expect(item.locator("[data-testid=approve]")).to_be_disabled()
    expect(item.locator("[data-testid=reject]")).to_be_disabled()
    maker.context.close()
    assert not maker.errors

    # another person approves it with a comment; the history shows both steps
    checker = sign_in(browser, server, "admin", "#/review")
    item = checker.locator(f"[data-testid=review-item][data-ref='{edge['ref']}']")
    expect(item).to_have_attribute("data-own", "false")
    item.locator("[data-testid=history]").click()
    expect(item.locator(".history li[data-action='created']")).to_contain_text("web-editor")
    item.locator(".review-comment").fill("checked against the desk's sign-off")
    item.locator("[data-testid=approve]").click()
    expect(item).to_have_count(0)
    history = server.api(
        "GET", f"/api/v1/lineage/edges/{edge['ref']}/history", key=server.keys["admin"]
    ).json()
    reviewed = [e for e in history["events"] if e["action"] == "reviewed"]
    assert reviewed and reviewed[0]["actor"] == "web-admin"
    assert reviewed[0]["comment"] == "checked against the desk's sign-off"
    assert history["edge"]["status"] == "approved"
    # the review is a person's action in the activity feed
    checker.click("nav a[data-view='overview']")
    expect(checker.locator("#activity li[data-type='action']", has_text="/review").first).to_be_visible()
    checker.context.close()
    assert not checker.errors


def test_versions_view_diff_and_markdown(serve: Any, page: Any, tmp_path: Path) -> None:
    server = serve()
    r = server.api("GET", "/api/v1/projects/demo/versions")
    if r.status_code == 404 and r.json().get("message") == "Not Found":
        pytest.skip("missing route: GET /api/v1/projects/{id}/versions")
    before = r.json()["current"]
    done = server.api(
        "POST",
        "/api/v1/ingest/sql",
        params={"wait": "true"},
        json={
            "sql": "CREATE VIEW rpt.v_version_check AS SELECT cpty_lei, exposure_usd FROM rpt.regulatory_exposure;\n",
            "project_id": "demo",
            "repository_name": "versions",
            "path": "versions/check.sql",
        },
    )
    assert done.status_code == 200, done.text
    after = server.api("GET", "/api/v1/projects/demo/versions").json()["current"]
    assert after > before
    page.goto(f"{server.url}/#/versions")
    page.wait_for_function("document.body.dataset.ready === 'true'")
    expect(page.locator(f"[data-testid=version-row][data-version='{after}']")).to_be_visible()
    page.select_option("#diff-from", str(before))
    page.select_option("#diff-to", str(after))
    page.click("#diff-form button[type=submit]")
    expect(page.locator("[data-testid=diff-summary]")).to_be_visible()
    expect(page.locator("[data-diff='added']")).to_contain_text("rpt.v_version_check.exposure_usd")
    expect(page.locator("[data-diff='objects_added']")).to_contain_text("rpt.v_version_check")
    with page.expect_download() as info:
        page.click("[data-testid=export-markdown]")
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    text = target.read_text(encoding="utf-8")
    assert target.suffix == ".md"
    assert text.startswith("#") and "rpt.v_version_check" in text


def test_single_admin_approves_own_edge_by_recorded_override(serve: Any, page: Any) -> None:
    server = serve()  # auth off: one anonymous admin makes and checks
    made = server.api(
        "POST",
        "/api/v1/lineage/edges",
        json={"project_id": "demo", "source": SOURCE, "target": TARGET, "note": NOTE},
    )
    assert made.status_code == 201, made.text
    ref = made.json()["ref"]
    page.goto(f"{server.url}/#/review")
    page.wait_for_function("document.body.dataset.ready === 'true'")
    item = page.locator(f"[data-testid=review-item][data-ref='{ref}']")
    expect(item).to_have_attribute("data-own", "true")
    expect(item.locator("[data-testid=approve]")).to_be_disabled()
    item.locator(".review-comment").fill("sole maintainer")
    item.locator("[data-testid=override]").click()
    expect(item).to_have_count(0)
    history = server.api("GET", f"/api/v1/lineage/edges/{ref}/history").json()
    assert history["edge"]["status"] == "approved"
    reviewed = [e for e in history["events"] if e["action"] == "reviewed"]
    assert reviewed[0]["data"].get("override") is True and reviewed[0]["comment"] == "sole maintainer"
