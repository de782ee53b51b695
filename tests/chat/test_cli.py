"""`finlineage ask` against a real store."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from finlineage.cli.main import app

from .conftest import BankGraph


def test_ask_prints_answer_and_sources(bank: BankGraph, tmp_path: Path) -> None:
    env = {
        "FINLINEAGE_DATABASE_URL": bank.url,
        "FINLINEAGE_DATA_DIR": str(tmp_path / "data"),
        "FINLINEAGE_LOG_DIR": str(tmp_path / "logs"),
        "FINLINEAGE_EMBEDDINGS_ENABLED": "false",
        "FINLINEAGE_LLM_BASE_URL": "",
    }
    runner = CliRunner()
    result = runner.invoke(app, ["ask", "What breaks if stg.trades changes?", "--project", "bank"], env=env)
    assert result.exit_code == 0, result.output
    assert "`mart.exposure`" in result.output and "Sources:" in result.output
    result = runner.invoke(
        app, ["ask", "Where does mart.exposure come from?", "--mode", "deep", "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output[: result.output.rindex("}") + 1])
    assert body["query_type"] == "deep" and body["model"] == "offline"
    bad = runner.invoke(app, ["ask", "x", "--mode", "nope"], env=env)
    assert bad.exit_code == 2
