"""schemathesis against a live `finlineage serve`: the OpenAPI document is the API.

Checks: not_a_server_error, status_code_conformance, content_type_conformance,
response_schema_conformance, negative_data_rejection — 0 failures. Bounded (examples per
operation, one worker) so it stays within a few minutes. A failure names the operation(s).
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from .conftest import Served

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance,negative_data_rejection"
)
MAX_EXAMPLES = os.environ.get("FINLINEAGE_TEST_SCHEMATHESIS_EXAMPLES", "8")
SEED = os.environ.get("FINLINEAGE_TEST_SCHEMATHESIS_SEED", "20261206")
"""A fixed seed: the suite generates the same ~4,000 cases on every run, so CI never fails by
luck; `FINLINEAGE_TEST_SCHEMATHESIS_SEED=random` (or another number) explores new ones — run it
now and then: random runs found real bugs (each failure prints the seed that reproduces it)."""


def test_schemathesis_finds_no_failure(serve: Callable[..., Served], tmp_path: Path) -> None:
    _run(serve(), tmp_path, MAX_EXAMPLES)


def test_schemathesis_without_a_key_finds_no_failure(serve: Callable[..., Served], tmp_path: Path) -> None:
    """Auth on, no key: every protected operation answers 401, and documents it."""
    _run(serve(FINLINEAGE_AUTH="on"), tmp_path, "3")


def _run(server: Served, tmp_path: Path, max_examples: str) -> None:
    spec = server.get("/openapi.json")
    assert spec.status_code == 200
    for path, item in spec.json()["paths"].items():  # every operation documents its errors
        for method, operation in item.items():
            assert "400" in operation["responses"] and "503" in operation["responses"], (method, path)
    junit = tmp_path / "schemathesis.xml"
    cmd = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{server.http}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        max_examples,
        "--workers",
        "1",
        "--phases",
        "examples,coverage,fuzzing",
        "--request-timeout",
        "30",
        "--exclude-path",
        "/admin/restart",  # would restart the server under test (tests/realtime/test_restart.py)
        "--generation-database",
        "none",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
        "--no-color",
        *([] if SEED == "random" else ["--seed", SEED]),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    failing: list[str] = []
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            if case.find("failure") is not None:
                failing.append(case.get("name", "?"))
    summary = done.stdout[-6000:]
    assert not failing, f"schemathesis failures in: {failing}\n{summary}"
    assert "failures" not in summary.splitlines()[-1] or " 0 failures" in summary, summary
    assert server.proc.poll() is None, "the server died under schemathesis"
