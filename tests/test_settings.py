"""The settings class and .env.example must describe the same variables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from finlineage.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _env_names(field_name: str) -> set[str]:
    info = Settings.model_fields[field_name]
    alias = info.validation_alias
    if alias is not None and hasattr(alias, "choices"):
        return {str(choice) for choice in alias.choices}
    return {f"FINLINEAGE_{field_name.upper()}"}


def test_env_example_documents_every_setting() -> None:
    documented = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    missing = [name for name in Settings.model_fields if not (_env_names(name) & documented)]
    assert missing == [], f".env.example lacks {missing}"
    known = set().union(*(_env_names(name) for name in Settings.model_fields))
    assert documented - known == set(), "documented variables the settings class does not know"


def test_env_example_values_parse(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for line in (ROOT / ".env.example").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            if value:
                monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.port == 8000
    assert settings.allowed_origins == ["http://127.0.0.1:8000", "http://localhost:8000"]
    assert settings.auth_enabled("127.0.0.1") is False
    assert settings.auth_enabled("0.0.0.0") is True


def test_auth_modes() -> None:
    assert Settings(auth="on").auth_enabled("127.0.0.1") is True
    assert Settings(auth="off").auth_enabled("10.1.2.3") is False
    assert Settings(auth="auto").auth_enabled("::1") is False


def test_keep_alive_is_above_a_load_balancers_idle_timeout(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from finlineage.settings import Settings

    assert Settings().http_keep_alive_s > 60  # AWS ALB / nginx upstream idle defaults
    monkeypatch.setenv("FINLINEAGE_HTTP_KEEP_ALIVE_S", "120")
    assert Settings().http_keep_alive_s == 120
    monkeypatch.setenv("FINLINEAGE_HTTP_KEEP_ALIVE_S", "0")
    import pydantic
    import pytest

    with pytest.raises(pydantic.ValidationError):
        Settings()
