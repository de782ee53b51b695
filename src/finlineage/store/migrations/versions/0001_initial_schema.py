"""initial schema: catalog, lineage edges, runs/files, activity, api keys, retrieval, search

PostgreSQL: creates extensions ``vector`` (required) and ``pg_trgm`` (optional: without it the
trigram indexes are skipped and fuzzy search degrades to ILIKE), a generated ``search_tsv``
column on ``objects`` with a GIN index, trigram GIN indexes on names, an HNSW index on
embeddings. SQLite: an FTS5 virtual table ``search_index`` maintained by the repositories.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 04:51:34.400341
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import UserDefinedType

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


class _Vector(UserDefinedType[object]):
    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "vector(384)"


def _embedding() -> sa.types.TypeEngine[bytes]:
    return sa.LargeBinary().with_variant(_Vector(), "postgresql")


def _is_pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _has_extension(name: str) -> bool:
    bind = op.get_bind()
    return bool(bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = :n"), {"n": name}).scalar())


def _create_extensions() -> None:
    bind = op.get_bind()
    available = {
        row[0]
        for row in bind.execute(
            sa.text("SELECT name FROM pg_available_extensions WHERE name IN ('vector', 'pg_trgm')")
        )
    }
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")  # required: code_chunks.embedding
    if "pg_trgm" in available:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


SEARCH_TSV = """
    setweight(to_tsvector('simple', regexp_replace(canonical_id, '[^[:alnum:]]+', ' ', 'g')), 'A')
    || setweight(to_tsvector('simple',
           regexp_replace(coalesce(column_names, ''), '[^[:alnum:]]+', ' ', 'g')), 'B')
    || setweight(to_tsvector('simple',
           regexp_replace(left(coalesce(definition, ''), 200000), '[^[:alnum:]]+', ' ', 'g')), 'C')
"""


def _create_search() -> None:
    if _is_pg():
        op.execute(
            f"ALTER TABLE objects ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS ({SEARCH_TSV}) STORED"
        )
        op.execute("CREATE INDEX ix_objects_search_tsv ON objects USING gin (search_tsv)")
        if _has_extension("pg_trgm"):
            op.execute("CREATE INDEX ix_objects_name_trgm ON objects USING gin (name gin_trgm_ops)")
            op.execute(
                "CREATE INDEX ix_objects_canonical_id_trgm ON objects USING gin (canonical_id gin_trgm_ops)"
            )
        op.execute(
            "CREATE INDEX ix_code_chunks_embedding ON code_chunks USING hnsw (embedding vector_cosine_ops)"
        )
    else:
        op.execute(
            "CREATE VIRTUAL TABLE search_index USING fts5("
            "object_id UNINDEXED, project_id UNINDEXED, name, columns, definition, "
            "tokenize = 'unicode61 remove_diacritics 2')"
        )


def _drop_search() -> None:
    if not _is_pg():
        op.execute("DROP TABLE IF EXISTS search_index")
    # PostgreSQL: the generated column and its indexes go with the objects table.


def upgrade() -> None:
    if _is_pg():
        _create_extensions()
    op.create_table(
        "activity_events",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=True),
        sa.Column("route", sa.String(length=500), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.Column("key_name", sa.String(length=200), nullable=True),
        sa.Column("project_id", PK, nullable=True),
        sa.Column("data", JSONT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_events")),
    )
    op.create_index(op.f("ix_activity_events_project_id"), "activity_events", ["project_id"])
    op.create_index(op.f("ix_activity_events_ts"), "activity_events", ["ts"])
    op.create_index(op.f("ix_activity_events_type_ts"), "activity_events", ["type", "ts"])
    op.create_table(
        "api_keys",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.CheckConstraint("role IN ('viewer', 'editor', 'admin')", name=op.f("ck_api_keys_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_api_keys_name")),
    )
    op.create_table(
        "projects",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("name", name=op.f("uq_projects_name")),
    )
    op.create_table(
        "stats_snapshots",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("project_id", PK, nullable=True),
        sa.Column("counts", JSONT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stats_snapshots")),
    )
    op.create_index(op.f("ix_stats_snapshots_project_id"), "stats_snapshots", ["project_id"])
    op.create_index(op.f("ix_stats_snapshots_ts"), "stats_snapshots", ["ts"])
    op.create_table(
        "repositories",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("project_id", PK, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("ref", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('upload', 'directory', 'git', 'sql')", name=op.f("ck_repositories_kind")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_repositories_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repositories")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_repositories_project_id_name")),
    )
    op.create_table(
        "runs",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("project_id", PK, nullable=False),
        sa.Column("repository_id", PK, nullable=True),
        sa.Column("ingestion_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("files_processed", sa.Integer(), nullable=False),
        sa.Column("files_failed", sa.Integer(), nullable=False),
        sa.Column("files_skipped_duplicate", sa.Integer(), nullable=False),
        sa.Column("nodes_created", sa.Integer(), nullable=False),
        sa.Column("edges_created", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("params", JSONT, nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'completed', 'failed', 'cancelled', 'interrupted')",
            name=op.f("ck_runs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_runs_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_runs_repository_id_repositories"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.UniqueConstraint("ingestion_id", name=op.f("uq_runs_ingestion_id")),
    )
    op.create_index(op.f("ix_runs_project_id_created_at"), "runs", ["project_id", "created_at"])
    op.create_index(op.f("ix_runs_repository_id"), "runs", ["repository_id"])
    op.create_index(op.f("ix_runs_status"), "runs", ["status"])
    op.create_table(
        "files",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("repository_id", PK, nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("dialect", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("superseded_by", PK, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("run_id", PK, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('active', 'superseded', 'error')", name=op.f("ck_files_status")),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_files_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_files_run_id_runs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["superseded_by"], ["files.id"], name=op.f("fk_files_superseded_by_files"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
    )
    op.create_index(op.f("ix_files_repository_id_path"), "files", ["repository_id", "path"])
    op.create_index(op.f("ix_files_repository_id_sha256"), "files", ["repository_id", "sha256"])
    op.create_index(op.f("ix_files_run_id"), "files", ["run_id"])
    op.create_table(
        "objects",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("project_id", PK, nullable=False),
        sa.Column("database", sa.String(length=200), nullable=True),
        sa.Column("schema", sa.String(length=200), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("canonical_id", sa.String(length=700), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("definition", sa.Text(), nullable=True),
        sa.Column("file_id", PK, nullable=True),
        sa.Column("line_start", sa.Integer(), nullable=True),
        sa.Column("line_end", sa.Integer(), nullable=True),
        sa.Column("dialect", sa.String(length=32), nullable=True),
        sa.Column("diagnostics", JSONT, nullable=True),
        sa.Column("column_names", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('table', 'view', 'materialized_view', 'procedure', 'function', 'trigger', 'synonym', 'external')",
            name=op.f("ck_objects_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.id"], name=op.f("fk_objects_file_id_files"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_objects_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objects")),
        sa.UniqueConstraint("project_id", "canonical_id", name=op.f("uq_objects_project_id_canonical_id")),
    )
    op.create_index(op.f("ix_objects_file_id"), "objects", ["file_id"])
    op.create_index(op.f("ix_objects_project_id_kind"), "objects", ["project_id", "kind"])
    op.create_table(
        "code_chunks",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("project_id", PK, nullable=False),
        sa.Column("object_id", PK, nullable=True),
        sa.Column("file_id", PK, nullable=True),
        sa.Column("line_start", sa.Integer(), nullable=True),
        sa.Column("line_end", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("embedding", _embedding(), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.id"], name=op.f("fk_code_chunks_file_id_files"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["object_id"], ["objects.id"], name=op.f("fk_code_chunks_object_id_objects"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_code_chunks_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_chunks")),
    )
    op.create_index(op.f("ix_code_chunks_file_id"), "code_chunks", ["file_id"])
    op.create_index(op.f("ix_code_chunks_object_id"), "code_chunks", ["object_id"])
    op.create_index(op.f("ix_code_chunks_project_id"), "code_chunks", ["project_id"])
    op.create_table(
        "columns",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("object_id", PK, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=True),
        sa.Column("data_type", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["object_id"], ["objects.id"], name=op.f("fk_columns_object_id_objects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_columns")),
        sa.UniqueConstraint("object_id", "name", name=op.f("uq_columns_object_id_name")),
    )
    op.create_table(
        "table_edges",
        sa.Column("source_object_id", PK, nullable=False),
        sa.Column("target_object_id", PK, nullable=False),
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("expression", sa.Text(), nullable=True),
        sa.Column("statement_index", sa.Integer(), nullable=True),
        sa.Column("line_start", sa.Integer(), nullable=True),
        sa.Column("line_end", sa.Integer(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("project_id", PK, nullable=False),
        sa.Column("process_object_id", PK, nullable=True),
        sa.Column("file_id", PK, nullable=True),
        sa.Column("run_id", PK, nullable=True),
        sa.CheckConstraint("kind IN ('direct', 'indirect')", name=op.f("ck_table_edges_kind")),
        sa.CheckConstraint("origin IN ('parser', 'llm', 'manual')", name=op.f("ck_table_edges_origin")),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'rejected')", name=op.f("ck_table_edges_status")
        ),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.id"], name=op.f("fk_table_edges_file_id_files"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["process_object_id"],
            ["objects.id"],
            name=op.f("fk_table_edges_process_object_id_objects"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_table_edges_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_table_edges_run_id_runs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["source_object_id"],
            ["objects.id"],
            name=op.f("fk_table_edges_source_object_id_objects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_object_id"],
            ["objects.id"],
            name=op.f("fk_table_edges_target_object_id_objects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_table_edges")),
    )
    op.create_index(
        "ix_table_edges_down", "table_edges", ["source_object_id", "target_object_id", "status", "kind"]
    )
    op.create_index(op.f("ix_table_edges_file_id"), "table_edges", ["file_id"])
    op.create_index(op.f("ix_table_edges_project_id"), "table_edges", ["project_id"])
    op.create_index(op.f("ix_table_edges_process_object_id"), "table_edges", ["process_object_id"])
    op.create_index(
        "ix_table_edges_up", "table_edges", ["target_object_id", "source_object_id", "status", "kind"]
    )
    op.create_table(
        "column_edges",
        sa.Column("source_column_id", PK, nullable=False),
        sa.Column("target_column_id", PK, nullable=False),
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("expression", sa.Text(), nullable=True),
        sa.Column("statement_index", sa.Integer(), nullable=True),
        sa.Column("line_start", sa.Integer(), nullable=True),
        sa.Column("line_end", sa.Integer(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("project_id", PK, nullable=False),
        sa.Column("process_object_id", PK, nullable=True),
        sa.Column("file_id", PK, nullable=True),
        sa.Column("run_id", PK, nullable=True),
        sa.CheckConstraint("kind IN ('direct', 'indirect')", name=op.f("ck_column_edges_kind")),
        sa.CheckConstraint("origin IN ('parser', 'llm', 'manual')", name=op.f("ck_column_edges_origin")),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'rejected')", name=op.f("ck_column_edges_status")
        ),
        sa.ForeignKeyConstraint(
            ["file_id"], ["files.id"], name=op.f("fk_column_edges_file_id_files"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["process_object_id"],
            ["objects.id"],
            name=op.f("fk_column_edges_process_object_id_objects"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_column_edges_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_column_edges_run_id_runs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["source_column_id"],
            ["columns.id"],
            name=op.f("fk_column_edges_source_column_id_columns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_column_id"],
            ["columns.id"],
            name=op.f("fk_column_edges_target_column_id_columns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_column_edges")),
    )
    op.create_index(
        "ix_column_edges_down", "column_edges", ["source_column_id", "target_column_id", "status", "kind"]
    )
    op.create_index(op.f("ix_column_edges_file_id"), "column_edges", ["file_id"])
    op.create_index(op.f("ix_column_edges_project_id"), "column_edges", ["project_id"])
    op.create_index(op.f("ix_column_edges_process_object_id"), "column_edges", ["process_object_id"])
    op.create_index(
        "ix_column_edges_up", "column_edges", ["target_column_id", "source_column_id", "status", "kind"]
    )
    _create_search()


def downgrade() -> None:
    _drop_search()
    op.drop_index("ix_column_edges_up", table_name="column_edges")
    op.drop_index(op.f("ix_column_edges_project_id"), table_name="column_edges")
    op.drop_index(op.f("ix_column_edges_process_object_id"), table_name="column_edges")
    op.drop_index(op.f("ix_column_edges_file_id"), table_name="column_edges")
    op.drop_index("ix_column_edges_down", table_name="column_edges")
    op.drop_table("column_edges")
    op.drop_index("ix_table_edges_up", table_name="table_edges")
    op.drop_index(op.f("ix_table_edges_project_id"), table_name="table_edges")
    op.drop_index(op.f("ix_table_edges_process_object_id"), table_name="table_edges")
    op.drop_index(op.f("ix_table_edges_file_id"), table_name="table_edges")
    op.drop_index("ix_table_edges_down", table_name="table_edges")
    op.drop_table("table_edges")
    op.drop_table("columns")
    op.drop_index(op.f("ix_code_chunks_project_id"), table_name="code_chunks")
    op.drop_index(op.f("ix_code_chunks_object_id"), table_name="code_chunks")
    op.drop_index(op.f("ix_code_chunks_file_id"), table_name="code_chunks")
    op.drop_table("code_chunks")
    op.drop_index(op.f("ix_objects_project_id_kind"), table_name="objects")
    op.drop_index(op.f("ix_objects_file_id"), table_name="objects")
    op.drop_table("objects")
    op.drop_index(op.f("ix_files_run_id"), table_name="files")
    op.drop_index(op.f("ix_files_repository_id_sha256"), table_name="files")
    op.drop_index(op.f("ix_files_repository_id_path"), table_name="files")
    op.drop_table("files")
    op.drop_index(op.f("ix_runs_status"), table_name="runs")
    op.drop_index(op.f("ix_runs_repository_id"), table_name="runs")
    op.drop_index(op.f("ix_runs_project_id_created_at"), table_name="runs")
    op.drop_table("runs")
    op.drop_table("repositories")
    op.drop_index(op.f("ix_stats_snapshots_ts"), table_name="stats_snapshots")
    op.drop_index(op.f("ix_stats_snapshots_project_id"), table_name="stats_snapshots")
    op.drop_table("stats_snapshots")
    op.drop_table("projects")
    op.drop_table("api_keys")
    op.drop_index(op.f("ix_activity_events_type_ts"), table_name="activity_events")
    op.drop_index(op.f("ix_activity_events_ts"), table_name="activity_events")
    op.drop_index(op.f("ix_activity_events_project_id"), table_name="activity_events")
    op.drop_table("activity_events")
