"""`/api/v1/config/sql-dialects`: what the `dialect` parameter of ingestion accepts."""

from __future__ import annotations

from fastapi import APIRouter

from finlineage.api.auth import viewer
from finlineage.query.dialects import sql_dialects
from finlineage.query.schemas import DialectsOut

router = APIRouter(prefix="/api/v1/config", tags=["config"])


@router.get(
    "/sql-dialects",
    response_model=DialectsOut,
    summary="SQL dialects (sqlglot's, plus `auto` = detect per file) and accepted aliases",
    dependencies=[viewer],
)
def dialects() -> DialectsOut:
    return sql_dialects()
