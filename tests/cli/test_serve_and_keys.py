"""`finlineage serve` refuses an open server without auth; `finlineage keys` manages hashed keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from finlineage.cli.main import app

runner = CliRunner()


@pytest.fixture
def data_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env from the checkout
    monkeypatch.setenv("FINLINEAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FINLINEAGE_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.delenv("FINLINEAGE_DATABASE_URL", raising=False)
    return tmp_path / "data"


def test_serve_refuses_auth_off_on_a_public_address(data_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINLINEAGE_AUTH", "off")
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code == 2
    assert "refusing to serve on 0.0.0.0 with FINLINEAGE_AUTH=off" in result.output


def test_keys_create_list_revoke(data_env: Path) -> None:
    created = runner.invoke(app, ["keys", "create", "--name", "ops", "--role", "admin"])
    assert created.exit_code == 0, created.output
    plaintext = created.stdout.strip().splitlines()[0]
    assert plaintext.startswith("flk_") and len(plaintext) > 30

    engine = create_engine(f"sqlite:///{data_env / 'finlineage.db'}")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT key_hash, role, revoked FROM api_keys WHERE name='ops'")).one()
    engine.dispose()
    assert plaintext not in stored[0] and len(stored[0]) == 64  # only the SHA-256 is kept
    assert stored[1] == "admin" and not stored[2]

    duplicate = runner.invoke(app, ["keys", "create", "--name", "ops", "--role", "viewer"])
    assert duplicate.exit_code == 2 and "already exists" in duplicate.output
    bad_role = runner.invoke(app, ["keys", "create", "--name", "x", "--role", "boss"])
    assert bad_role.exit_code == 2 and "unknown role" in bad_role.output

    listed = runner.invoke(app, ["keys", "list"])
    assert listed.exit_code == 0 and "ops" in listed.stdout and plaintext not in listed.stdout

    revoked = runner.invoke(app, ["keys", "revoke", "1"])
    assert revoked.exit_code == 0
    assert runner.invoke(app, ["keys", "revoke", "99"]).exit_code == 1
