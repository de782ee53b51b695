"""What an ingestion run shares between the service and its execution: statuses and modes,
the refusal error, per-run live state, the parse task of one file, text decoding."""

from __future__ import annotations

import codecs
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

from finlineage.ingest.models import FileResult, IngestionResult
from finlineage.ingest.sources import SourceFile
from finlineage.store import ingest_writes as writes

MAX_RERESOLVE_ROUNDS = 3
BATCH_FILES = 64
BATCH_SECONDS = 2.0
TERMINAL = ("completed", "completed_with_errors", "failed", "cancelled", "interrupted")
SUCCEEDED = ("completed", "completed_with_errors")
MODES = ("add", "snapshot")
"""add: the files given are added/updated; snapshot: they are the whole repository (others go)."""


class IngestError(Exception):
    """A request the service refuses (mapped to an HTTP status by the API)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class EventSink(Protocol):
    def publish(self, type_: str, data: dict[str, Any], project_id: object = None) -> Any: ...


ProgressCallback = Callable[[FileResult, int, int], None]


@dataclass(slots=True)
class _Live:
    ingestion_id: str
    cancel: threading.Event = field(default_factory=threading.Event)
    files_total: int | None = None
    files_done: int = 0
    future: Future[IngestionResult] | None = None
    callbacks: list[ProgressCallback] = field(default_factory=list)


@dataclass(slots=True)
class _Task:
    sf: SourceFile
    sha: str
    size: int
    dialect: str
    tokens: set[str]
    defines: set[str]
    file_id: int | None = None
    """Set for already-stored files being re-resolved."""
    previous: writes.CurrentFile | None = None
    attempts: int = 0
    ref_last: set[str] = field(default_factory=set)
    sent: dict[str, int] = field(default_factory=dict)
    own: set[str] = field(default_factory=set)
    reparse: bool = False
    stored: bool = False
    """An earlier run's file re-parsed because its schema changed (not one of this run's files)."""
    parse_sha: str | None = None
    """Digest of ``sf.parse_data`` (the text parsed when it is not the file's own: dbt models)."""


def _fp(cols: dict[str, str | None] | None) -> int:
    return hash(tuple(cols)) if cols else 0


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower()


def decode_sql(data: bytes) -> tuple[str | None, str | None]:
    """(text, None) or (None, reason). UTF-8 (BOM optional) and BOM-marked UTF-16 only."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError:
            return None, "undecodable: invalid UTF-16 text"
    if b"\x00" in data:
        return None, "binary file (contains NUL bytes), not SQL text"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return None, (
            f"undecodable: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "re-save the file as UTF-8"
        )


class _Cancelled(Exception):
    pass
