"""Screenshots of every dashboard view (`make screenshots`) → bench/results/screenshots/*.png.

Ingests the demo warehouse into a temporary data dir with the CLI, serves it with
`finlineage serve` on a free 127.0.0.1 port, drives Debian's Chromium (headless, Playwright) through
each view with real data and interactions, and saves one PNG per view at 1400 px and at 390 px
(a phone; files named `<view>-390.png`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "screenshots"
BIN = Path(sys.executable).parent
# One set of headless-Chromium flags for both browser scripts (this script's folder is on sys.path).
from bench_web import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

READY = "document.body.dataset.ready === 'true'"
LIVE = "document.querySelector('#conn').dataset.state === 'live'"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


COLUMN = "rpt.regulatory_exposure.exposure_usd"
UPLOAD = [
    {
        "name": "treasury/ddl/positions.sql",
        "mimeType": "text/plain",
        "buffer": b"CREATE TABLE tre.positions (book TEXT, isin TEXT, qty NUMERIC, px NUMERIC);\n",
    },
    {
        "name": "treasury/views/exposure.sql",
        "mimeType": "text/plain",
        "buffer": b"CREATE VIEW tre.exposure AS\nSELECT p.book, SUM(p.qty * p.px) AS exposure\n"
        b"FROM tre.positions p\nGROUP BY p.book;\n",
    },
    {
        "name": "treasury/legacy/export.sql",
        "mimeType": "text/plain",
        "buffer": b"SELECT 1;\n-- \xc3\x28 saved as latin-1\n",
    },
]


def take_views(page: Any, url: str, suffix: str, shots: list[str]) -> None:
    """Every view once, with real data and interactions; `suffix` tells the screen width."""

    def shot(name: str) -> None:
        path = OUT / f"{name}{suffix}.png"
        page.screenshot(path=str(path))
        shots.append(str(path.relative_to(ROOT)))

    # Ask first, so the overview shows a question in its live activity
    page.goto(f"{url}/#/ask")
    page.wait_for_function(READY)
    page.fill("#ask-input", f"Where does {COLUMN} come from?")
    page.click("#ask-send")
    page.wait_for_selector(".msg.assistant[data-state=done]")
    page.evaluate("document.querySelector('#messages').scrollTop = 0")
    shot("ask")

    # Ingest: a small upload with one broken file (failed files first)
    page.goto(f"{url}/#/ingest")
    page.wait_for_function(LIVE)
    page.fill("#ingest-repo", f"treasury{suffix}")
    page.set_input_files(
        "#pick-files",
        files=[{**f, "buffer": f["buffer"] + suffix.encode()} for f in UPLOAD],  # new content per width
    )
    page.click("#ingest-submit")
    page.wait_for_selector("#ingest-status[data-status^=completed]")
    shot("ingest")

    # Overview after the live run
    page.goto(f"{url}/#/overview")
    page.wait_for_function("Number(document.body.dataset.statsUpdates || 0) >= 2")
    page.wait_for_selector("#runs .run[data-status^=completed]")
    shot("overview")

    # Explore: a report column's whole upstream lineage (depth all), its formula, a table graph
    page.goto(f"{url}/#/explore?column={COLUMN}&dir=upstream")
    page.wait_for_selector("#graph[data-state=ready]")
    page.wait_for_selector("#definition-code")
    shot("explore-columns")
    page.click(".tabs [data-tab='formula']")
    page.wait_for_selector("#detail-formula .step, #detail-formula .error-text, #detail-formula pre")
    if suffix:
        page.locator("#detail-formula").scroll_into_view_if_needed()
    shot("explore-formula")

    page.goto(f"{url}/#/explore?node=crd.counterparty_exposure&dir=both&depth=3&gran=table")
    page.wait_for_function("document.querySelector('#graph').dataset.root === 'crd.counterparty_exposure'")
    page.click(".tabs [data-tab='definition']")
    page.wait_for_selector("#definition-code")
    shot("explore-tables")
    page.click(".tabs [data-tab='impact']")
    page.wait_for_selector("#impact-total")
    if suffix:
        page.locator("#detail-impact").scroll_into_view_if_needed()
    shot("explore-impact")

    # File view at some lines
    page.goto(f"{url}/#/file?path=tsql/ddl/raw_venue_feeds.sql&line=3")
    page.wait_for_selector("#file-code .ln.hl")
    shot("file")

    # Review and versions
    page.goto(f"{url}/#/review")
    page.wait_for_selector("#review-list li")
    if not suffix:  # one proposed edge, made through the page's own form
        page.fill("#propose-source", "raw.venue_a_trades.qty")
        page.fill("#propose-target", "rpt.regulatory_exposure.rwa_usd")
        page.fill("#propose-note", "risk desk spreadsheet feeds RWA by hand")
        page.click("#propose-form button[type=submit]")
    page.wait_for_selector("[data-testid=review-item]")
    shot("review")
    page.goto(f"{url}/#/versions")
    page.wait_for_selector("[data-testid=version-row]")
    page.click("#diff-form button[type=submit]")
    page.wait_for_selector("[data-testid=diff-summary]")
    shot("versions")

    # Admin
    page.goto(f"{url}/#/admin")
    page.wait_for_function(LIVE)
    page.wait_for_selector("#health-table tbody tr[data-component=database]")
    shot("admin")
    if suffix:
        page.click("#nav-toggle")
        page.wait_for_function("document.querySelector('#sidebar').getBoundingClientRect().left >= 0")
        shot("navigation")


def main() -> int:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="finlineage-shots-"))
    data = work / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINLINEAGE_")}
    env.update(
        FINLINEAGE_DATA_DIR=str(data),
        FINLINEAGE_LOG_DIR=str(work / "logs"),
        FINLINEAGE_AUTH="off",
        FINLINEAGE_ALLOWED_ORIGINS=url,
        FINLINEAGE_STATS_INTERVAL_S="1",
        FINLINEAGE_EMBEDDINGS_ENABLED="false",
    )
    exe = str(BIN / "finlineage")
    subprocess.run(
        [
            exe,
            "ingest",
            "demo",
            "--project",
            "demo",
            "--repository",
            "demo-warehouse",
            "--create-project",
            "--quiet",
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    log = (work / "server.log").open("wb")
    server = subprocess.Popen(
        [exe, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start; see " + str(work / "server.log"))
            time.sleep(0.2)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            shots: list[str] = []
            for width, height, suffix in ((1400, 900, ""), (390, 844, "-390")):
                mobile = width < 700
                context = browser.new_context(
                    viewport={"width": width, "height": height},
                    device_scale_factor=1,
                    has_touch=mobile,
                    is_mobile=mobile,
                )
                page = context.new_page()
                page.set_default_timeout(60_000)
                take_views(page, url, suffix, shots)
                context.close()
            browser.close()
        print("\n".join(shots))
        return 0
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
