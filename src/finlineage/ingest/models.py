"""Pydantic request/result models of the ingestion service (shared by API, CLI and workers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, StrictInt

FileResultStatus = Literal["processed", "skipped_duplicate", "error"]
SourceKind = Literal["upload", "directory", "git", "sql"]
IngestMode = Literal["add", "snapshot"]


class FileDiagnostic(BaseModel):
    code: str
    message: str
    severity: str = "warning"
    line: int | None = None
    """1-based line in the original file."""
    column: int | None = None
    """1-based column in that line (parse errors)."""
    statement_index: int | None = None


class FileResult(BaseModel):
    path: str
    status: FileResultStatus
    dialect: str | None = None
    objects: int = 0
    """Objects (tables, views, routines, ...) the file defines."""
    edges: int = 0
    """Table- and column-level edges written for the file."""
    diagnostics: list[FileDiagnostic] = Field(default_factory=list)
    error: str | None = None
    """Why the file failed: the first parse error in plain words (the facts of the statements that
    parsed are kept), or why it could not be read at all."""
    line: int | None = None
    """Line of that error in the original file (1-based), when it has one."""
    column: int | None = None
    """Column of that error in its line (1-based), when known."""


class IngestionResult(BaseModel):
    project_id: int
    repository_id: int
    ingestion_id: str
    run_id: int
    status: str = "completed"
    files_total: int = 0
    files_processed: int = 0
    files_failed: int = 0
    files_skipped_duplicate: int = 0
    files_removed: list[str] = Field(default_factory=list)
    """Snapshot ingestion: paths of the repository absent from it, removed with their facts."""
    files_reresolved: int = 0
    """Already-stored files re-parsed because DDL they depend on arrived or changed."""
    total_nodes_created: int = 0
    total_edges_created: int = 0
    duration_ms: int = 0
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)
    results: list[FileResult] = Field(default_factory=list)


class IngestionAccepted(BaseModel):
    ingestion_id: str
    run_id: int
    project_id: int
    repository_id: int
    status: str
    status_url: str
    log_url: str


class IngestionStatus(BaseModel):
    ingestion_id: str
    run_id: int
    project_id: int
    repository_id: int | None
    status: str
    source: str | None = None
    files_total: int | None = None
    files_done: int = 0
    percentage: float = 0.0
    files_processed: int = 0
    files_failed: int = 0
    files_skipped_duplicate: int = 0
    files_removed: int = 0
    total_nodes_created: int = 0
    total_edges_created: int = 0
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: int | None = None
    error: str | None = None
    log_url: str
    results: list[FileResult] | None = None
    """Per-file results, once the run has finished."""


class IngestionLogInfo(BaseModel):
    ingestion_id: str
    run_id: int
    project_id: int
    status: str
    created_at: datetime | None = None
    log_url: str
    size_bytes: int = 0


class RawSqlRequest(BaseModel):
    sql: str = Field(min_length=1)
    project_id: StrictInt | str
    """A project id or name; an unknown name is an error unless `create_project` is true. Ids
    are strict integers here and below: JSON `true` is not id 1 (pydantic's lax int takes it)."""
    create_project: bool = False
    """Create the project when `project_id` names none (explicit, so a typo never creates one)."""
    repository_name: str | None = None
    repository_id: StrictInt | None = None
    dialect: str = "auto"
    path: str | None = None
    """Path the text is stored under (dedup key); default `sql/<sha256[:12]>.sql`."""


class DirectoryRequest(BaseModel):
    path: str | list[str]
    project_id: StrictInt | str
    create_project: bool = False
    repository_name: str | None = None
    repository_id: StrictInt | None = None
    dialect: str = "auto"
    mode: IngestMode = "add"
    """`snapshot`: the paths are the whole repository; its files absent from them are removed."""


class GitRequest(BaseModel):
    url: str = Field(min_length=1)
    ref: str | None = None
    """Branch, tag or commit; default the remote's HEAD."""
    project_id: StrictInt | str
    create_project: bool = False
    repository_name: str | None = None
    repository_id: StrictInt | None = None
    dialect: str = "auto"
    subdir: str | None = None
    """Only ingest files under this folder of the repository."""


def as_jsonable(result: BaseModel) -> dict[str, Any]:
    return result.model_dump(mode="json")
