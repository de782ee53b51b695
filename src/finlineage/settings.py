"""All runtime configuration, read once from FINLINEAGE_* variables and `.env`.

Every other module receives a `Settings` instance (dependency injection); nothing reads
os.environ directly. `.env.example` documents every field below.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

# Comma-separated in the environment (not JSON), split by `_csv` below.
CsvList = Annotated[list[str], NoDecode]


def _csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FINLINEAGE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- paths and store ---------------------------------------------------------------
    data_dir: Path = Path("./data")
    log_dir: Path = Path("./logs")
    database_url: str | None = None
    """Overrides the embedded SQLite store, e.g. postgresql+psycopg://user:pw@127.0.0.1/finlineage."""

    # --- server ------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    auth: Literal["on", "off", "auto"] = "auto"
    """`auto`: off when serving on a loopback address, on otherwise."""
    cors_origins: CsvList = Field(default_factory=lambda: ["http://127.0.0.1:8000", "http://localhost:8000"])
    log_level: str = "info"
    request_max_body_mb: int = 200
    """Largest request body (file uploads), enforced while it streams in (chunked too): 413 past it."""
    request_max_json_mb: float = 1.0
    """Largest body for every route that does not take file uploads (JSON routes)."""
    openlineage_max_event_mb: float = 16.0
    """Largest OpenLineage event (``POST /api/v1/lineage``), once decompressed too: Spark events
    with wide schemas, column lineage and logical plans run to several MB."""
    allowed_hosts: CsvList = Field(default_factory=list)
    """Host header values served (HTTP and WebSocket, auth on or off; DNS rebinding). Empty:
    localhost, 127.0.0.1, ::1 and FINLINEAGE_HOST. `*` serves any host; `*.example.com` subdomains."""
    key_cache_ttl_s: float = 30.0
    """How long a verified key is remembered; revocation still applies on the next request."""
    http_threads: int = 32
    """Threads serving sync routes; the connection pool is sized above it so a request waiting for
    a thread never holds the connection another needs (which deadlocks the instance)."""
    http_keep_alive_s: float = Field(default=75.0, gt=0)
    """How long an idle keep-alive connection stays open. Above the usual load-balancer idle
    timeout (60 s), so a client or proxy never sends a request on a connection the server is
    closing at that moment (uvicorn's own default is 5 s; a busy client loses that race)."""

    # --- ingestion ---------------------------------------------------------------------
    ingest_roots: CsvList = Field(default_factory=list)
    max_file_mb: float = 10.0
    dbt_artifact_max_mb: float = 512.0
    """Largest dbt ``manifest.json`` / ``catalog.json`` read (MiB): a large project's artifacts
    are 20-150 MB, far over ``max_file_mb`` (which is for SQL files)."""
    max_archive_members: int = 20_000
    max_archive_ratio: float = 100.0
    max_archive_total_mb: float = 1024.0
    parse_workers: int = 0
    """Process-pool size for parsing; 0 means one per CPU core."""
    statement_timeout_s: float = 5.0
    walk_node_cap: int = Field(default=10_000, ge=1)
    """Most nodes one lineage walk (upstream/downstream, impact, explain) returns; walks default
    to the full closure and say `truncated` / `omitted` when the cap leaves nodes out."""
    git_allowed_schemes: CsvList = Field(default_factory=lambda: ["https", "ssh"])
    """URL schemes git ingestion may clone (`http`, `git` only where configured; never file/ext)."""
    git_allowed_hosts: CsvList = Field(default_factory=list)
    """Hosts git may reach although they resolve to loopback/private/link-local addresses:
    `host`, `host:port` or a CIDR, comma-separated."""
    git_timeout_s: float = 300.0
    git_max_mb: float = 500.0
    """A clone larger than this on disk is stopped (checked while it runs) and removed."""
    load_demo: bool = True
    openlineage_project: str = "openlineage"
    """Project receiving OpenLineage events whose namespaces match no repository (created on first use)."""

    # --- real-time and activity --------------------------------------------------------
    redis_url: str | None = None
    allowed_origins: CsvList = Field(
        default_factory=lambda: ["http://127.0.0.1:8000", "http://localhost:8000"],
        validation_alias=AliasChoices("FINLINEAGE_ALLOWED_ORIGINS", "ALLOWED_ORIGINS"),
    )
    websocket_allow_no_origin: bool = Field(
        default=True,
        validation_alias=AliasChoices("FINLINEAGE_WEBSOCKET_ALLOW_NO_ORIGIN", "WEBSOCKET_ALLOW_NO_ORIGIN"),
    )
    websocket_max_connections_per_ip: int = Field(
        default=10,
        validation_alias=AliasChoices(
            "FINLINEAGE_WEBSOCKET_MAX_CONNECTIONS_PER_IP", "WEBSOCKET_MAX_CONNECTIONS_PER_IP"
        ),
    )
    websocket_max_connections: int = Field(
        default=2000,
        validation_alias=AliasChoices("FINLINEAGE_WEBSOCKET_MAX_CONNECTIONS", "WEBSOCKET_MAX_CONNECTIONS"),
    )
    websocket_include_query_text: bool = Field(
        default=False,
        validation_alias=AliasChoices(
            "FINLINEAGE_WEBSOCKET_INCLUDE_QUERY_TEXT", "WEBSOCKET_INCLUDE_QUERY_TEXT"
        ),
    )
    websocket_broadcast_ingestion_events: bool = Field(
        default=True,
        validation_alias=AliasChoices(
            "FINLINEAGE_WEBSOCKET_BROADCAST_INGESTION_EVENTS", "WEBSOCKET_BROADCAST_INGESTION_EVENTS"
        ),
    )
    websocket_broadcast_query_events: bool = Field(
        default=True,
        validation_alias=AliasChoices(
            "FINLINEAGE_WEBSOCKET_BROADCAST_QUERY_EVENTS", "WEBSOCKET_BROADCAST_QUERY_EVENTS"
        ),
    )
    websocket_broadcast_error_events: bool = Field(
        default=True,
        validation_alias=AliasChoices(
            "FINLINEAGE_WEBSOCKET_BROADCAST_ERROR_EVENTS", "WEBSOCKET_BROADCAST_ERROR_EVENTS"
        ),
    )
    websocket_send_queue_size: int = 256
    websocket_send_timeout_s: float = 2.0
    websocket_ping_interval_s: float = 20.0
    websocket_per_message_deflate: bool = False
    websocket_rate_limit_per_s: float = 20.0
    """Inbound messages per second per connection (token bucket); past it the socket closes 1008."""
    websocket_rate_limit_burst: int = 100
    """Compress WebSocket messages per client; off by default: it doubles the CPU of a broadcast."""
    stats_interval_s: float = 5.0
    progress_rate_limit_per_s: float = 10.0
    activity_queue_size: int = 10_000
    activity_flush_interval_s: float = 1.0
    activity_batch_window_s: float = 0.05
    """How long the activity writer gathers records after the first of a batch: one database
    transaction per window, not per request (under load it would contend with every writer)."""
    activity_max_bytes: int = 20 * 1024 * 1024
    restart_grace_s: float = 10.0
    restart_mode: Literal["auto", "exit", "reexec"] = "auto"
    """`auto`: exit 0 under a supervisor (systemd, container PID 1), else re-exec in place."""
    stats_snapshot_interval_s: float = 300.0
    """How often a stats snapshot is stored (the history behind the stats trends)."""
    stats_trend_window_h: float = 24.0

    # --- chat and embeddings -----------------------------------------------------------
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_fallback_models: CsvList = Field(default_factory=list)
    llm_mode_models: dict[str, str] = Field(default_factory=dict)
    llm_timeout_s: float = 60.0
    llm_max_retries: int = 2
    embeddings_enabled: bool = True

    _split_lists = field_validator(
        "cors_origins",
        "allowed_origins",
        "ingest_roots",
        "llm_fallback_models",
        "allowed_hosts",
        "git_allowed_schemes",
        "git_allowed_hosts",
        mode="before",
    )(_csv)

    @cached_property
    def sqlite_path(self) -> Path:
        return self.data_dir / "finlineage.db"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.sqlite_path.resolve()}"

    def auth_enabled(self, host: str | None = None) -> bool:
        if self.auth == "on":
            return True
        if self.auth == "off":
            return False
        return (host or self.host) not in LOOPBACK_HOSTS

    def ensure_dirs(self) -> None:
        for path in (self.data_dir, self.log_dir, self.data_dir / "uploads", self.data_dir / "runs"):
            path.mkdir(parents=True, exist_ok=True)


def get_settings() -> Settings:
    return Settings()
