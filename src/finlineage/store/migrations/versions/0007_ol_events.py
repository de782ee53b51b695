"""openlineage events: every accepted OpenLineage event kept as received

``ol_events``: one row per event accepted by ``POST /api/v1/lineage`` (RunEvent, JobEvent or
DatasetEvent) with the JSON text exactly as the producer sent it (after gzip decoding), so the
lineage derived from runtime stays auditable and the Marquez events list can serve it. Existing
data needs no change: the table starts empty (events received before this revision were not kept).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ol_events",
        sa.Column("id", PK, autoincrement=True, nullable=False),
        sa.Column("project_id", PK, nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("event_type", sa.String(length=16), nullable=True),
        sa.Column("event_time", TS, nullable=True),
        sa.Column("job_namespace", sa.String(length=500), nullable=True),
        sa.Column("job_name", sa.String(length=700), nullable=True),
        sa.Column("run_id", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_ol_events_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ol_events")),
    )
    op.create_index(op.f("ix_ol_events_event_time"), "ol_events", ["event_time"])
    op.create_index(op.f("ix_ol_events_run_id"), "ol_events", ["run_id"])
    op.create_index(op.f("ix_ol_events_project_id"), "ol_events", ["project_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ol_events_project_id"), table_name="ol_events")
    op.drop_index(op.f("ix_ol_events_run_id"), table_name="ol_events")
    op.drop_index(op.f("ix_ol_events_event_time"), table_name="ol_events")
    op.drop_table("ol_events")
