"""Fencing a run's writes with its attempt number.

A worker that takes a run claims the next attempt (`claim_attempt`); every transaction of its
execution then checks that the run still carries that attempt (`check_attempt`, in the same
transaction, row-locked on PostgreSQL; SQLite serialises writers). A worker that froze past its
lock, while another took the run, finds a newer attempt and its writes are refused.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from finlineage.store.models import Run


class StaleAttempt(RuntimeError):
    """This execution no longer owns the run: another worker took it (a newer attempt)."""


def claim_attempt(session: Session, ingestion_id: str) -> int:
    session.execute(update(Run).where(Run.ingestion_id == ingestion_id).values(attempt=Run.attempt + 1))
    value = session.scalar(select(Run.attempt).where(Run.ingestion_id == ingestion_id))
    if value is None:
        raise LookupError(f"run {ingestion_id!r} not found")
    return int(value)


def check_attempt(session: Session, ingestion_id: str, attempt: int) -> None:
    stmt = select(Run.attempt).where(Run.ingestion_id == ingestion_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    current = session.scalar(stmt)
    if current != attempt:
        raise StaleAttempt(
            f"run {ingestion_id} is now attempt {current}; this execution (attempt {attempt}) may not write"
        )
