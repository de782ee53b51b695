"""Typed declarative models of the lineage store (SQLAlchemy 2, SQLite and PostgreSQL).

Conventions
-----------
* Every "enum" is a short ``String`` guarded by a named ``CHECK`` constraint, never a native
  PostgreSQL ENUM: identical on both backends and trivially migratable.
* Timestamps use :class:`UTCDateTime`: always stored and returned as timezone-aware UTC
  (SQLite would otherwise hand back naive datetimes).
* ``JSON`` is ``JSONB`` on PostgreSQL.
* Surrogate keys are ``BIGINT`` on PostgreSQL and ``INTEGER PRIMARY KEY`` (rowid) on SQLite.

Lineage edges live in two tables, ``table_edges`` and ``column_edges``, rather than one
``edges`` table with a granularity column. Traversal is the hot path: a column-level walk only
ever touches column edges, so splitting keeps each table and its covering indexes
(``(target, source, status, kind)`` / ``(source, target, status, kind)``) narrow and free of a
granularity predicate, lets the endpoints be real foreign keys (objects vs columns) with
``ON DELETE CASCADE`` and lets the planner keep statistics per granularity. Both tables share
every other attribute through :class:`EdgeMixin`.

Search support that is not expressible portably (SQLite FTS5 virtual table ``search_index``;
PostgreSQL generated ``search_tsv`` column and GIN/trigram indexes) is created by the migration
only and is not mapped here; see ``finlineage.store.search``.
"""

from __future__ import annotations

import struct
import uuid
from datetime import UTC, datetime
from typing import Any, Final, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, relationship
from sqlalchemy.types import TypeDecorator, TypeEngine

EMBEDDING_DIM: Final = 384

RepositoryKind = Literal["upload", "directory", "git", "sql"]
RunStatus = Literal[
    "queued", "running", "completed", "completed_with_errors", "failed", "cancelled", "interrupted"
]
FileStatus = Literal["active", "superseded", "error"]
EdgeKindT = Literal["direct", "indirect"]
EdgeOrigin = Literal["parser", "manual", "openlineage", "inferred"]
EdgeStatus = Literal["observed", "proposed", "approved", "rejected"]
ApiKeyRole = Literal["viewer", "editor", "admin"]

REPOSITORY_KINDS: Final = ("upload", "directory", "git", "sql")
RUN_STATUSES: Final = (
    "queued",
    "running",
    "completed",
    "completed_with_errors",
    "failed",
    "cancelled",
    "interrupted",
)
FILE_STATUSES: Final = ("active", "superseded", "error")
OBJECT_KINDS: Final = (
    "table",
    "view",
    "materialized_view",
    "procedure",
    "function",
    "trigger",
    "synonym",
    "external",
)
EDGE_KINDS: Final = ("direct", "indirect")
EDGE_ORIGINS: Final = ("parser", "manual", "openlineage", "inferred")
EDGE_STATUSES: Final = ("observed", "proposed", "approved", "rejected")
VISIBLE_STATUSES: Final = ("observed", "approved")
"""What walks, impact, exports and chat follow by default (see ``store.versions.edge_visibility``)."""
EDGE_ACTIONS: Final = ("created", "reviewed", "superseded", "removed", "orphaned", "restored")
API_KEY_ROLES: Final = ("viewer", "editor", "admin")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def utcnow() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------
# custom types
# --------------------------------------------------------------------------------------


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (naive input is taken as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Embedding(TypeDecorator[list[float]]):
    """A fixed-size float vector: pgvector ``vector(N)`` on PostgreSQL, little-endian float32
    bytes (``LargeBinary``) elsewhere. Python side is always ``list[float]``."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, dim: int = EMBEDDING_DIM) -> None:
        super().__init__()
        self.dim = dim

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from pgvector.sqlalchemy import VECTOR

            return dialect.type_descriptor(VECTOR(self.dim))
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        floats = [float(x) for x in value]
        if len(floats) != self.dim:
            raise ValueError(f"embedding has {len(floats)} dimensions, expected {self.dim}")
        if dialect.name == "postgresql":
            return floats
        return struct.pack(f"<{self.dim}f", *floats)

    def process_result_value(self, value: Any, dialect: Dialect) -> list[float] | None:
        if value is None:
            return None
        if isinstance(value, bytes | bytearray | memoryview):
            raw = bytes(value)
            return list(struct.unpack(f"<{len(raw) // 4}f", raw))
        return [float(x) for x in value]


PK = BigInteger().with_variant(Integer(), "sqlite")
"""Surrogate key type: BIGINT, but SQLite needs INTEGER PRIMARY KEY for rowid aliasing."""

JSONType = JSON().with_variant(JSONB(), "postgresql")

NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


def _pk() -> Mapped[int]:
    return mapped_column(PK, primary_key=True, autoincrement=True)


def _fk(target: str, ondelete: str, *, nullable: bool = False, index: bool = False) -> Mapped[Any]:
    return mapped_column(PK, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index)


# --------------------------------------------------------------------------------------
# projects, sources, runs, files
# --------------------------------------------------------------------------------------


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = _pk()
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    repositories: Mapped[list[Repository]] = relationship(
        back_populates="project", cascade="all, delete-orphan", passive_deletes=True
    )


class Repository(Base):
    """A source of SQL files (an upload, a directory, a git repository, pasted SQL)."""

    __tablename__ = "repositories"
    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        CheckConstraint(_in("kind", REPOSITORY_KINDS), name="kind"),
    )

    id: Mapped[int] = _pk()
    project_id: Mapped[int] = _fk("projects.id", "CASCADE")
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="upload")
    url: Mapped[str | None] = mapped_column(Text)
    ref: Mapped[str | None] = mapped_column(String(200))
    namespace: Mapped[str | None] = mapped_column(String(500))
    """OpenLineage namespace authority of this source's datasets (``sql-host:1433``, or a full
    ``mssql://sql-host:1433``); NULL: the repository name. The scheme comes from each file's dialect."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    project: Mapped[Project] = relationship(back_populates="repositories")


class Run(Base):
    """One ingestion run."""

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(_in("status", RUN_STATUSES), name="status"),
        Index(None, "project_id", "created_at"),
    )

    id: Mapped[int] = _pk()
    project_id: Mapped[int] = _fk("projects.id", "CASCADE")
    repository_id: Mapped[int | None] = _fk("repositories.id", "SET NULL", nullable=True, index=True)
    ingestion_id: Mapped[str] = mapped_column(String(36), unique=True, default=lambda: str(uuid.uuid4()))
    status: Mapped[str] = mapped_column(String(32), default="queued", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    files_processed: Mapped[int] = mapped_column(default=0)
    files_failed: Mapped[int] = mapped_column(default=0)
    files_skipped_duplicate: Mapped[int] = mapped_column(default=0)
    files_removed: Mapped[int] = mapped_column(default=0)
    """Files of the repository absent from a snapshot ingestion, removed with their facts."""
    nodes_created: Mapped[int] = mapped_column(default=0)
    edges_created: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any] | None]
    attempt: Mapped[int] = mapped_column(default=0, server_default="0")
    """Incremented when a worker takes the run; its writes are fenced with it (store/fencing)."""


class File(Base):
    """One version of one source file. A changed file gets a new row (version+1); the old row
    is marked ``superseded`` and points at its successor via ``superseded_by``."""

    __tablename__ = "files"
    __table_args__ = (
        CheckConstraint(_in("status", FILE_STATUSES), name="status"),
        Index(None, "repository_id", "path"),
        Index(None, "repository_id", "sha256"),
    )

    id: Mapped[int] = _pk()
    repository_id: Mapped[int] = _fk("repositories.id", "CASCADE")
    path: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64))
    parse_sha256: Mapped[str | None] = mapped_column(String(64))
    """Digest of the text the engine parsed when it is not the file's own (a dbt model: dbt's
    compiled SQL; the stored file, ``sha256``, stays the original Jinja). NULL: the file itself."""
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    dialect: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(default=1)
    superseded_by: Mapped[int | None] = _fk("files.id", "SET NULL", nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    error: Mapped[str | None] = mapped_column(Text)
    error_line: Mapped[int | None]
    """1-based line (in the original file) of the first parse error, when status is error."""
    error_column: Mapped[int | None]
    run_id: Mapped[int | None] = _fk("runs.id", "SET NULL", nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------------------
# catalog
# --------------------------------------------------------------------------------------


class CatalogObject(Base):
    """A catalog object ("node"): table, view, routine, ... or an ``external`` placeholder for
    something referenced but not (yet) defined. ``canonical_id`` is unique per project."""

    __tablename__ = "objects"
    __table_args__ = (
        UniqueConstraint("project_id", "canonical_id"),
        CheckConstraint(_in("kind", OBJECT_KINDS), name="kind"),
        Index(None, "project_id", "kind"),
    )

    id: Mapped[int] = _pk()
    project_id: Mapped[int] = _fk("projects.id", "CASCADE")
    database: Mapped[str | None] = mapped_column(String(200))
    schema: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    canonical_id: Mapped[str] = mapped_column(String(700))
    kind: Mapped[str] = mapped_column(String(24), default="external")
    definition: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    """Documentation that came with the code (e.g. a dbt model's or source's description)."""
    file_id: Mapped[int | None] = _fk("files.id", "SET NULL", nullable=True, index=True)
    line_start: Mapped[int | None]
    line_end: Mapped[int | None]
    dialect: Mapped[str | None] = mapped_column(String(32))
    diagnostics: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONType)
    column_names: Mapped[str | None] = mapped_column(Text)
    """Space-separated column names, denormalised for full-text search."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    columns: Mapped[list[Column]] = relationship(
        back_populates="object",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(Column.ordinal.asc().nulls_last(), Column.name)",
    )


Node = CatalogObject


class Column(Base):
    __tablename__ = "columns"
    __table_args__ = (UniqueConstraint("object_id", "name"),)

    id: Mapped[int] = _pk()
    object_id: Mapped[int] = _fk("objects.id", "CASCADE")
    name: Mapped[str] = mapped_column(String(200))
    ordinal: Mapped[int | None]
    data_type: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    """Documentation that came with the code (e.g. a dbt column description)."""

    object: Mapped[CatalogObject] = relationship(back_populates="columns")


# --------------------------------------------------------------------------------------
# lineage edges
# --------------------------------------------------------------------------------------


class EdgeMixin:
    """Attributes shared by table- and column-level edges."""

    id: Mapped[int] = _pk()
    kind: Mapped[str] = mapped_column(String(16), default="direct")
    subtype: Mapped[str | None] = mapped_column(String(24))
    """OpenLineage transformation subtype (IDENTITY, TRANSFORMATION, AGGREGATION, JOIN, ...)."""
    expression: Mapped[str | None] = mapped_column(Text)
    formula: Mapped[str | None] = mapped_column(Text)
    """The target as one SQL expression of persistent columns (temporary tables substituted)."""
    steps: Mapped[str | None] = mapped_column(Text)
    """Space-separated indexes of the file's statements that contributed, in data-flow order;
    their spans are rows of ``statements`` (``file_id``, ``statement_index``)."""
    statement_index: Mapped[int | None]
    line_start: Mapped[int | None]
    line_end: Mapped[int | None]
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    origin: Mapped[str] = mapped_column(String(16), default="parser")
    status: Mapped[str] = mapped_column(String(16), default="observed")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))
    """API key name of a manual edge's maker; ``parser`` / ``run:<id>`` for ingested edges."""
    note: Mapped[str | None] = mapped_column(Text)
    orphaned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """A kept (manual/reviewed) edge whose endpoint object is no longer in the graph."""
    version_from: Mapped[int | None]
    """First graph version the fact is valid in (NULL: written by a run not yet finalised)."""
    version_to: Mapped[int | None]
    """First version the fact is no longer valid in (NULL: current)."""

    @declared_attr
    def project_id(cls) -> Mapped[int]:
        return _fk("projects.id", "CASCADE", index=True)

    @declared_attr
    def process_object_id(cls) -> Mapped[int | None]:
        # indexed: ON DELETE SET NULL from objects must not scan the edge table per row
        return _fk("objects.id", "SET NULL", nullable=True, index=True)

    @declared_attr
    def file_id(cls) -> Mapped[int | None]:
        return _fk("files.id", "CASCADE", nullable=True, index=True)

    @declared_attr
    def run_id(cls) -> Mapped[int | None]:
        return _fk("runs.id", "SET NULL", nullable=True)


_COVER = ("status", "kind", "version_from", "version_to")
"""Walk indexes cover the visibility columns (status, kind, validity): index-only lookups."""


def _edge_checks() -> tuple[CheckConstraint, ...]:
    return (
        CheckConstraint(_in("kind", EDGE_KINDS), name="kind"),
        CheckConstraint(_in("origin", EDGE_ORIGINS), name="origin"),
        CheckConstraint(_in("status", EDGE_STATUSES), name="status"),
    )


class TableEdge(EdgeMixin, Base):
    __tablename__ = "table_edges"
    __table_args__ = (
        *_edge_checks(),
        # covering indexes for upstream (by target) and downstream (by source) walks
        Index("ix_table_edges_up", "target_object_id", "source_object_id", *_COVER),
        Index("ix_table_edges_down", "source_object_id", "target_object_id", *_COVER),
        Index("ix_table_edges_validity", "project_id", "version_from", "version_to"),
    )

    source_object_id: Mapped[int] = _fk("objects.id", "CASCADE")
    target_object_id: Mapped[int] = _fk("objects.id", "CASCADE")


class ColumnEdge(EdgeMixin, Base):
    __tablename__ = "column_edges"
    __table_args__ = (
        *_edge_checks(),
        Index("ix_column_edges_up", "target_column_id", "source_column_id", *_COVER),
        Index("ix_column_edges_down", "source_column_id", "target_column_id", *_COVER),
        Index("ix_column_edges_validity", "project_id", "version_from", "version_to"),
    )

    source_column_id: Mapped[int] = _fk("columns.id", "CASCADE")
    target_column_id: Mapped[int] = _fk("columns.id", "CASCADE")


# --------------------------------------------------------------------------------------
# governance: graph versions, object presence per version, edge history
# --------------------------------------------------------------------------------------


class GraphVersion(Base):
    """One version of a project's graph: created by every run that changed it. A version is
    ``open`` (``finalized_at`` NULL) while its run writes; facts carry validity ranges
    (``version_from``/``version_to``) in these numbers instead of copies."""

    __tablename__ = "graph_versions"
    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = _pk()
    project_id: Mapped[int] = _fk("projects.id", "CASCADE")
    version: Mapped[int]
    run_id: Mapped[int | None] = _fk("runs.id", "SET NULL", nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finalized_at: Mapped[datetime | None]
    files: Mapped[int] = mapped_column(default=0)
    objects: Mapped[int] = mapped_column(default=0)
    edges: Mapped[int] = mapped_column(default=0)
    source: Mapped[str | None] = mapped_column(String(32))
    ref: Mapped[str | None] = mapped_column(String(200))
    commit: Mapped[str | None] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(Text)


class ObjectPresence(Base):
    """Validity range of an object in the graph (defined, or an endpoint of a visible edge)."""

    __tablename__ = "object_presence"
    __table_args__ = (Index(None, "project_id", "version_from", "version_to"),)

    id: Mapped[int] = _pk()
    project_id: Mapped[int] = _fk("projects.id", "CASCADE")
    object_id: Mapped[int] = _fk("objects.id", "CASCADE", index=True)
    kind: Mapped[str] = mapped_column(String(24))
    version_from: Mapped[int]
    version_to: Mapped[int | None]


class EdgeEvent(Base):
    """Append-only history of a governed edge: created, reviewed, superseded, removed,
    orphaned, restored — with actor, time and comment."""

    __tablename__ = "edge_events"
    __table_args__ = (
        CheckConstraint(_in("action", EDGE_ACTIONS), name="action"),
        CheckConstraint(_in("granularity", ("table", "column")), name="granularity"),
        Index(None, "granularity", "edge_id", "id"),
    )

    id: Mapped[int] = _pk()
    project_id: Mapped[int] = _fk("projects.id", "CASCADE", index=True)
    granularity: Mapped[str] = mapped_column(String(8))
    edge_id: Mapped[int] = mapped_column(PK)
    """Not a foreign key: the history outlives the edge row."""
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None]


class Statement(Base):
    """One statement of one stored file version: its span (true 1-based lines of the original
    file), kind and routine. Edges point at it by ``(file_id, statement_index)``; the evidence
    text is read from the file's stored copy, never stored twice."""

    __tablename__ = "statements"
    __table_args__ = (UniqueConstraint("file_id", "statement_index"),)

    id: Mapped[int] = _pk()
    file_id: Mapped[int] = _fk("files.id", "CASCADE")
    statement_index: Mapped[int]
    line_start: Mapped[int]
    line_end: Mapped[int]
    type: Mapped[str] = mapped_column(String(32), default="unknown")
    target: Mapped[str | None] = mapped_column(String(700))
    """What the statement writes (first target table, temporary ones included, e.g. ``#stage``)."""
    process_object_id: Mapped[int | None] = _fk("objects.id", "SET NULL", nullable=True, index=True)
    object_id: Mapped[int | None] = _fk("objects.id", "SET NULL", nullable=True, index=True)
    """The object this statement defines (CREATE ...), so a co-definer can re-adopt it."""


class UnresolvedRead(Base):
    """A relation a stored file version read with its columns unknown (a table-valued function no
    file had declared when this one was parsed): the file is re-resolved once one does."""

    __tablename__ = "unresolved_reads"
    __table_args__ = (Index(None, "project_id", "name"),)

    id: Mapped[int] = _pk()
    project_id: Mapped[int] = _fk("projects.id", "CASCADE")
    file_id: Mapped[int] = _fk("files.id", "CASCADE", index=True)
    name: Mapped[str] = mapped_column(String(200))
    """The relation's last name part, lower case (what ``dependent_files`` matches)."""


# --------------------------------------------------------------------------------------
# operations: activity, keys, retrieval, stats
# --------------------------------------------------------------------------------------


class ActivityEvent(Base):
    __tablename__ = "activity_events"
    __table_args__ = (Index(None, "type", "ts"),)

    id: Mapped[int] = _pk()
    ts: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    type: Mapped[str] = mapped_column(String(64))
    method: Mapped[str | None] = mapped_column(String(16))
    route: Mapped[str | None] = mapped_column(String(500))
    status_code: Mapped[int | None]
    latency_ms: Mapped[float | None] = mapped_column(Float)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    key_name: Mapped[str | None] = mapped_column(String(200))
    project_id: Mapped[int | None] = mapped_column(PK, index=True)
    """Deliberately not a foreign key: the activity log outlives deleted projects."""
    data: Mapped[dict[str, Any] | None]


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(_in("role", API_KEY_ROLES), name="role"),)

    id: Mapped[int] = _pk()
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="viewer")
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class CodeChunk(Base):
    """A slice of source text for retrieval (chat citations), optionally embedded."""

    __tablename__ = "code_chunks"

    id: Mapped[int] = _pk()
    project_id: Mapped[int] = _fk("projects.id", "CASCADE", index=True)
    object_id: Mapped[int | None] = _fk("objects.id", "SET NULL", nullable=True, index=True)
    file_id: Mapped[int | None] = _fk("files.id", "CASCADE", nullable=True, index=True)
    line_start: Mapped[int | None]
    line_end: Mapped[int | None]
    text: Mapped[str] = mapped_column(Text)
    embedding: Mapped[list[float] | None] = mapped_column(Embedding(EMBEDDING_DIM))


class StatsSnapshot(Base):
    __tablename__ = "stats_snapshots"

    id: Mapped[int] = _pk()
    ts: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    project_id: Mapped[int | None] = mapped_column(PK, index=True)
    counts: Mapped[dict[str, Any]]


# --------------------------------------------------------------------------------------
# OpenLineage: jobs, runs and datasets received as events
# --------------------------------------------------------------------------------------

OL_RUN_STATES: Final = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")


class OLJob(Base):
    """A job seen in OpenLineage events (``namespace`` + ``name``), with its latest facets and
    the datasets its latest run read and wrote (``[[namespace, name], ...]``)."""

    __tablename__ = "ol_jobs"
    __table_args__ = (UniqueConstraint("namespace", "name"),)

    id: Mapped[int] = _pk()
    project_id: Mapped[int] = _fk("projects.id", "CASCADE", index=True)
    namespace: Mapped[str] = mapped_column(String(500))
    name: Mapped[str] = mapped_column(String(700))
    job_type: Mapped[str | None] = mapped_column(String(64))
    facets: Mapped[dict[str, Any] | None]
    inputs: Mapped[list[Any] | None] = mapped_column(JSONType)
    outputs: Mapped[list[Any] | None] = mapped_column(JSONType)
    process_object_id: Mapped[int | None] = _fk("objects.id", "SET NULL", nullable=True, index=True)
    """The parsed routine/view of the same name, when the job is one finlineage knows."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OLRun(Base):
    """One run of an OpenLineage job: its latest state, start/end times and run facets."""

    __tablename__ = "ol_runs"
    __table_args__ = (
        UniqueConstraint("job_id", "run_id"),
        CheckConstraint(_in("state", OL_RUN_STATES), name="state"),
    )

    id: Mapped[int] = _pk()
    job_id: Mapped[int] = _fk("ol_jobs.id", "CASCADE")
    run_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="OTHER")
    event_time: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    facets: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OLDataset(Base):
    """Where an OpenLineage dataset (``namespace`` + ``name``) lives in the graph: the project
    and catalog object it was matched to (or created as), with its latest dataset facets."""

    __tablename__ = "ol_datasets"
    __table_args__ = (UniqueConstraint("namespace", "name"),)

    id: Mapped[int] = _pk()
    namespace: Mapped[str] = mapped_column(String(500))
    name: Mapped[str] = mapped_column(String(700))
    project_id: Mapped[int] = _fk("projects.id", "CASCADE", index=True)
    object_id: Mapped[int] = _fk("objects.id", "CASCADE", index=True)
    facets: Mapped[dict[str, Any] | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OLEvent(Base):
    """An accepted OpenLineage event, kept as the producer sent it (``payload``: the JSON text
    after gzip decoding), with the fields its lists are filtered and sorted by."""

    __tablename__ = "ol_events"

    id: Mapped[int] = _pk()
    project_id: Mapped[int | None] = _fk("projects.id", "CASCADE", nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    """RunEvent, JobEvent or DatasetEvent."""
    event_type: Mapped[str | None] = mapped_column(String(16))
    event_time: Mapped[datetime | None] = mapped_column(index=True)
    job_namespace: Mapped[str | None] = mapped_column(String(500))
    job_name: Mapped[str | None] = mapped_column(String(700))
    run_id: Mapped[str | None] = mapped_column(String(64), index=True)
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
