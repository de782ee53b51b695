"""openlineage: jobs, runs and datasets received as OpenLineage events; repository namespaces

``repositories.namespace``: the OpenLineage namespace authority of a source (NULL: its name).
``ol_jobs`` / ``ol_runs``: jobs and runs received through ``POST /api/v1/lineage``.
``ol_datasets``: where an event's dataset (namespace + name) lives in the graph.
Existing data needs no change: every new column is nullable and the tables start empty.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = sa.DateTime(timezone=True)
STATES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")


def upgrade() -> None:
    with op.batch_alter_table("repositories") as batch:
        batch.add_column(sa.Column("namespace", sa.String(length=500), nullable=True))

    op.create_table(
        "ol_jobs",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("project_id", PK, nullable=False),
        sa.Column("namespace", sa.String(length=500), nullable=False),
        sa.Column("name", sa.String(length=700), nullable=False),
        sa.Column("job_type", sa.String(length=64), nullable=True),
        sa.Column("facets", JSONT, nullable=True),
        sa.Column("inputs", JSONT, nullable=True),
        sa.Column("outputs", JSONT, nullable=True),
        sa.Column("process_object_id", PK, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_ol_jobs_project_id_projects"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["process_object_id"],
            ["objects.id"],
            name=op.f("fk_ol_jobs_process_object_id_objects"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ol_jobs")),
        sa.UniqueConstraint("namespace", "name", name=op.f("uq_ol_jobs_namespace_name")),
    )
    op.create_index(op.f("ix_ol_jobs_project_id"), "ol_jobs", ["project_id"])
    op.create_index(op.f("ix_ol_jobs_process_object_id"), "ol_jobs", ["process_object_id"])

    op.create_table(
        "ol_runs",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("job_id", PK, nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("event_time", TS, nullable=True),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("facets", JSONT, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.CheckConstraint(
            "state IN (" + ", ".join(f"'{s}'" for s in STATES) + ")", name=op.f("ck_ol_runs_state")
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["ol_jobs.id"], name=op.f("fk_ol_runs_job_id_ol_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ol_runs")),
        sa.UniqueConstraint("job_id", "run_id", name=op.f("uq_ol_runs_job_id_run_id")),
    )

    op.create_table(
        "ol_datasets",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("namespace", sa.String(length=500), nullable=False),
        sa.Column("name", sa.String(length=700), nullable=False),
        sa.Column("project_id", PK, nullable=False),
        sa.Column("object_id", PK, nullable=False),
        sa.Column("facets", JSONT, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_ol_datasets_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["object_id"], ["objects.id"], name=op.f("fk_ol_datasets_object_id_objects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ol_datasets")),
        sa.UniqueConstraint("namespace", "name", name=op.f("uq_ol_datasets_namespace_name")),
    )
    op.create_index(op.f("ix_ol_datasets_project_id"), "ol_datasets", ["project_id"])
    op.create_index(op.f("ix_ol_datasets_object_id"), "ol_datasets", ["object_id"])


def downgrade() -> None:
    op.drop_table("ol_datasets")
    op.drop_table("ol_runs")
    op.drop_table("ol_jobs")
    with op.batch_alter_table("repositories") as batch:
        batch.drop_column("namespace")
