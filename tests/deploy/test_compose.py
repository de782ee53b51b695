"""docker-compose.yml and the Dockerfile, checked statically (no Docker engine runs in CI here).

Every environment variable the finlineage containers get must be one the settings class reads
(`FINLINEAGE_<FIELD>` or a field's validation alias); the topology must keep its promises: a
scalable api behind nginx with a health check and a restart policy (the restart endpoint relies on
it), workers sharing the data volume, PostgreSQL with pgvector and Redis.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from finlineage.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
FINLINEAGE_SERVICES = ("api", "worker", "migrate")


def settings_env_names() -> set[str]:
    names: set[str] = set()
    for field_name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if alias is not None and hasattr(alias, "choices"):
            names |= {str(choice) for choice in alias.choices}
        else:
            names.add(f"FINLINEAGE_{field_name.upper()}")
    return names


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def test_services_and_images(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"api", "worker", "postgres", "redis", "nginx", "migrate"} <= services.keys()
    assert "pgvector" in services["postgres"]["image"]
    assert services["redis"]["image"].startswith("redis:")
    assert services["api"]["command"] == ["serve"]
    assert services["worker"]["command"] == ["worker"]


def test_api_is_scalable_restartable_and_health_checked(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]
    assert "ports" not in api, "a fixed host port would prevent --scale api=N (nginx publishes)"
    assert "container_name" not in api
    assert api["restart"] == "unless-stopped"
    assert any("/health" in part for part in api["healthcheck"]["test"])
    env = _env(api)
    # /admin/restart exits 0 and relies on the restart policy to come back
    assert env["FINLINEAGE_RESTART_MODE"] == "exit"
    assert env["FINLINEAGE_HOST"] == "0.0.0.0"
    nginx = compose["services"]["nginx"]
    assert nginx["depends_on"]["api"]["condition"] == "service_healthy"
    assert any(p.endswith(":8000") for p in nginx["ports"])


def test_every_service_restarts_and_backing_services_are_health_checked(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("api", "worker", "postgres", "redis", "nginx"):
        assert services[name]["restart"] == "unless-stopped", name
    for name in ("postgres", "redis", "api", "nginx"):
        assert services[name]["healthcheck"]["test"], name
    for name in ("api", "worker"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        assert deps["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_volumes_for_data_and_logs(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    assert {"data", "logs", "pgdata", "redisdata"} <= declared
    for name in ("api", "worker"):
        mounts = compose["services"][name]["volumes"]
        assert "data:/data" in mounts and "logs:/logs" in mounts, name
        env = _env(compose["services"][name])
        assert env["FINLINEAGE_DATA_DIR"] == "/data"  # uploads must be readable by every worker
        assert env["FINLINEAGE_LOG_DIR"] == "/logs"
    assert any(str(m).startswith("pgdata:") for m in compose["services"]["postgres"]["volumes"])
    assert any(str(m).startswith("redisdata:") for m in compose["services"]["redis"]["volumes"])


def test_settings_come_from_dotenv_and_queue_wiring(compose: dict[str, Any]) -> None:
    for name in FINLINEAGE_SERVICES:
        service = compose["services"][name]
        files = service["env_file"]
        assert any((f["path"] if isinstance(f, dict) else f) == ".env" for f in files), name
        env = _env(service)
        assert env["FINLINEAGE_REDIS_URL"].startswith("redis://redis:")
        assert env["FINLINEAGE_DATABASE_URL"].startswith("postgresql+psycopg://")


def test_every_variable_set_on_a_finlineage_container_is_a_setting(compose: dict[str, Any]) -> None:
    known = settings_env_names()
    for name in FINLINEAGE_SERVICES:
        unknown = set(_env(compose["services"][name])) - known
        assert unknown == set(), f"{name} sets variables Settings does not read: {sorted(unknown)}"


def test_interpolated_variables_are_settings_or_compose_only() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", text))
    compose_only = {"POSTGRES_PASSWORD", "PROXY_PORT"}
    assert used - compose_only <= settings_env_names()
    assert not any(v.startswith("FINLINEAGE_") for v in compose_only)


def test_dockerfile() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\w+)", text, re.MULTILINE)
    assert stages == ["build", "runtime"]
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*?/health", text, re.MULTILINE)
    assert re.search(r'^ENTRYPOINT \[.*"finlineage"\]', text, re.MULTILINE)
    assert re.search(r'^CMD \["serve"\]', text, re.MULTILINE)
    env_block = re.search(r"^ENV (.*?)(?=^\S)", text, re.MULTILINE | re.DOTALL)
    assert env_block is not None
    names = set(re.findall(r"([A-Z][A-Z0-9_]+)=", env_block.group(1)))
    assert names - {"PYTHONUNBUFFERED"} <= settings_env_names()
    assert "FINLINEAGE_RESTART_MODE=exit" in text


def test_dockerignore_keeps_secrets_and_state_out() -> None:
    lines = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".env", ".venv", ".git", "data", "logs"} <= lines


def test_nginx_configs_proxy_websockets() -> None:
    for path in (ROOT / "deploy" / "nginx.conf.template", ROOT / "deploy" / "nginx.compose.conf"):
        text = path.read_text()
        assert "proxy_http_version 1.1;" in text
        assert "proxy_set_header Upgrade $http_upgrade;" in text
        assert "proxy_set_header Connection $connection_upgrade;" in text
        assert "proxy_next_upstream " in text
