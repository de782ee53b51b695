"""governance: edge origin/status, versions with validity ranges, manual edges and review history

* edges: ``origin`` in (parser, manual, openlineage, inferred) — ``llm`` becomes ``inferred``;
  ``status`` in (observed, proposed, approved, rejected) — parsed edges become ``observed``;
  ``created_by``, ``note``, ``orphaned``, validity ``version_from``/``version_to``; the walk
  indexes cover the validity columns.
* ``graph_versions``: one row per run that changed a project's graph. Existing projects get
  version 1 (their latest run) and every existing fact is valid from it.
* ``object_presence``: validity ranges of objects; ``edge_events``: append-only edge history.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

OLD_ORIGINS = "origin IN ('parser', 'llm', 'manual')"
NEW_ORIGINS = "origin IN ('parser', 'manual', 'openlineage', 'inferred')"
OLD_STATUSES = "status IN ('proposed', 'approved', 'rejected')"
NEW_STATUSES = "status IN ('observed', 'proposed', 'approved', 'rejected')"
EDGES = (
    ("table_edges", "source_object_id", "target_object_id"),
    ("column_edges", "source_column_id", "target_column_id"),
)


def _swap_checks(table: str, origins: str, statuses: str) -> None:
    with op.batch_alter_table(table) as batch:
        batch.drop_constraint(op.f(f"ck_{table}_origin"), type_="check")
        batch.drop_constraint(op.f(f"ck_{table}_status"), type_="check")
        batch.create_check_constraint(op.f(f"ck_{table}_origin"), origins)
        batch.create_check_constraint(op.f(f"ck_{table}_status"), statuses)


def upgrade() -> None:
    for table, src, tgt in EDGES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("created_by", sa.String(200), nullable=True))
            batch.add_column(sa.Column("note", sa.Text(), nullable=True))
            batch.add_column(sa.Column("orphaned", sa.Boolean(), nullable=False, server_default=sa.false()))
            batch.add_column(sa.Column("version_from", sa.Integer(), nullable=True))
            batch.add_column(sa.Column("version_to", sa.Integer(), nullable=True))
        # widen the checks first (old values stay valid), migrate the data, then narrow
        _swap_checks(
            table,
            "origin IN ('parser', 'llm', 'manual', 'openlineage', 'inferred')",
            "status IN ('observed', 'proposed', 'approved', 'rejected')",
        )
        op.execute(f"UPDATE {table} SET origin = 'inferred' WHERE origin = 'llm'")
        op.execute(f"UPDATE {table} SET status = 'observed' WHERE origin = 'parser' AND status = 'proposed'")
        op.execute(f"UPDATE {table} SET created_by = 'parser' WHERE origin = 'parser'")
        _swap_checks(table, NEW_ORIGINS, NEW_STATUSES)
        op.drop_index(f"ix_{table}_up", table_name=table)
        op.drop_index(f"ix_{table}_down", table_name=table)
        cover = ["status", "kind", "version_from", "version_to"]
        op.create_index(f"ix_{table}_up", table, [tgt, src, *cover])
        op.create_index(f"ix_{table}_down", table, [src, tgt, *cover])
        op.create_index(f"ix_{table}_validity", table, ["project_id", "version_from", "version_to"])

    op.create_table(
        "graph_versions",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("project_id", PK, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("run_id", PK, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finalized_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("objects", sa.Integer(), nullable=False),
        sa.Column("edges", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(32), nullable=True),
        sa.Column("ref", sa.String(200), nullable=True),
        sa.Column("commit", sa.String(64), nullable=True),
        sa.Column("label", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_graph_versions_project_id_projects", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_graph_versions_run_id_runs", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_graph_versions"),
        sa.UniqueConstraint("project_id", "version", name="uq_graph_versions_project_id_version"),
    )
    op.create_index("ix_graph_versions_run_id", "graph_versions", ["run_id"])
    op.create_table(
        "object_presence",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("project_id", PK, nullable=False),
        sa.Column("object_id", PK, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("version_from", sa.Integer(), nullable=False),
        sa.Column("version_to", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_object_presence_project_id_projects", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["object_id"], ["objects.id"], name="fk_object_presence_object_id_objects", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_object_presence"),
    )
    op.create_index("ix_object_presence_object_id", "object_presence", ["object_id"])
    op.create_index(
        "ix_object_presence_project_id_version_from_version_to",
        "object_presence",
        ["project_id", "version_from", "version_to"],
    )
    op.create_table(
        "edge_events",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("project_id", PK, nullable=False),
        sa.Column("granularity", sa.String(8), nullable=False),
        sa.Column("edge_id", PK, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("data", JSONT, nullable=True),
        sa.CheckConstraint(
            "action IN ('created', 'reviewed', 'superseded', 'removed', 'orphaned', 'restored')",
            name="ck_edge_events_action",
        ),
        sa.CheckConstraint("granularity IN ('table', 'column')", name="ck_edge_events_granularity"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_edge_events_project_id_projects", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_edge_events"),
    )
    op.create_index("ix_edge_events_project_id", "edge_events", ["project_id"])
    _append_only("edge_events")
    op.create_index("ix_edge_events_granularity_edge_id_id", "edge_events", ["granularity", "edge_id", "id"])
    _version_existing_data()


def _append_only(table: str) -> None:
    """Rows of ``table`` can be added (and go with their project) but never changed."""
    msg = f"{table} is append-only"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{msg}'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN SELECT RAISE(ABORT, '{msg}'); END"
        )


def _version_existing_data() -> None:
    """Every project with facts gets version 1 (its latest run); all its facts are valid from it."""
    bind = op.get_bind()
    projects = [
        int(r[0])
        for r in bind.execute(
            sa.text(
                "SELECT id FROM projects p WHERE EXISTS (SELECT 1 FROM objects o WHERE o.project_id = p.id)"
                " OR EXISTS (SELECT 1 FROM table_edges e WHERE e.project_id = p.id)"
            )
        )
    ]
    for pid in projects:
        run_id = bind.execute(
            sa.text("SELECT id FROM runs WHERE project_id = :p ORDER BY created_at DESC, id DESC LIMIT 1"),
            {"p": pid},
        ).scalar()
        counts = {
            "files": "SELECT count(*) FROM files f JOIN repositories r ON r.id = f.repository_id"
            " WHERE r.project_id = :p AND f.status = 'active'",
            "objects": "SELECT count(*) FROM objects WHERE project_id = :p",
            "edges": "SELECT (SELECT count(*) FROM table_edges WHERE project_id = :p)"
            " + (SELECT count(*) FROM column_edges WHERE project_id = :p)",
        }
        values = {k: int(bind.execute(sa.text(q), {"p": pid}).scalar() or 0) for k, q in counts.items()}
        bind.execute(
            sa.text(
                "INSERT INTO graph_versions (project_id, version, run_id, created_at, finalized_at,"
                " files, objects, edges, source, label) VALUES (:p, 1, :r, CURRENT_TIMESTAMP,"
                " CURRENT_TIMESTAMP, :files, :objects, :edges, 'migration', 'facts before versioning')"
            ),
            {"p": pid, "r": run_id, **values},
        )
        for table, _, _ in EDGES:
            bind.execute(sa.text(f"UPDATE {table} SET version_from = 1 WHERE project_id = :p"), {"p": pid})
        bind.execute(
            sa.text(
                "INSERT INTO object_presence (project_id, object_id, kind, version_from)"
                " SELECT project_id, id, kind, 1 FROM objects WHERE project_id = :p"
            ),
            {"p": pid},
        )


def downgrade() -> None:
    op.drop_table("edge_events")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS edge_events_append_only()")
    op.drop_table("object_presence")
    op.drop_table("graph_versions")
    for table, src, tgt in EDGES:
        # closed facts and governed statuses have no place in the old schema
        op.execute(f"DELETE FROM {table} WHERE version_to IS NOT NULL")
        _swap_checks(
            table,
            "origin IN ('parser', 'llm', 'manual', 'openlineage', 'inferred')",
            "status IN ('observed', 'proposed', 'approved', 'rejected')",
        )
        op.execute(f"UPDATE {table} SET status = 'proposed' WHERE status = 'observed'")
        op.execute(f"UPDATE {table} SET origin = 'llm' WHERE origin = 'inferred'")
        op.execute(f"UPDATE {table} SET origin = 'parser' WHERE origin = 'openlineage'")
        _swap_checks(table, OLD_ORIGINS, OLD_STATUSES)
        op.drop_index(f"ix_{table}_validity", table_name=table)
        op.drop_index(f"ix_{table}_up", table_name=table)
        op.drop_index(f"ix_{table}_down", table_name=table)
        op.create_index(f"ix_{table}_up", table, [tgt, src, "status", "kind"])
        op.create_index(f"ix_{table}_down", table, [src, tgt, "status", "kind"])
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version_to")
            batch.drop_column("version_from")
            batch.drop_column("orphaned")
            batch.drop_column("note")
            batch.drop_column("created_by")
