"""Evidence: the original text of stored files, by line range.

The text of a stored file version is its content-addressed copy (`store.blobs`), decoded the way
ingestion decoded it (UTF-8 with or without BOM, BOM-marked UTF-16) and split on LF with a CR
before it dropped: line N here is line N of the engine's spans (true lines of the original file),
so a statement's span gives its original text, comments, spacing and case kept. `SourceReader`
serves the text of many edges and steps with one read per file.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from finlineage.store.blobs import blob_path
from finlineage.store.models import File

MAX_EVIDENCE_LINES = 400
"""Longest span served inline as an edge's `source_text` (longer: the first lines, then `…`;
the full text is at the file content link)."""


def decode_text(data: bytes) -> str:
    """Stored bytes as text: BOM dropped (UTF-8) or honoured (UTF-16); invalid UTF-8 replaced."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8", errors="replace")


def split_lines(text: str) -> list[str]:
    """1-based source lines as the engine counts them: LF ends a line, a CR before it is dropped."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


@lru_cache(maxsize=256)
def _blob_lines(data_dir: Path, sha256: str) -> list[str]:
    """Decoded lines of a stored blob (raises when there is none; misses are not cached). Blobs
    are content-addressed (a digest's text never changes): recent files are kept across requests."""
    return split_lines(decode_text(blob_path(data_dir, sha256).read_bytes()))


def _stored_lines(data_dir: Path, sha256: str) -> list[str] | None:
    try:
        return _blob_lines(data_dir, sha256)
    except (ValueError, OSError):  # not a content digest, or no stored text
        return None


class SourceReader:
    """Original text of line ranges of stored files (each file read and decoded once)."""

    def __init__(self, session: Session, data_dir: Path | None) -> None:
        self.session = session
        self.data_dir = data_dir
        self._lines: dict[int, list[str] | None] = {}
        self._sha: dict[int, str] = {}

    def prefetch(self, file_ids: Sequence[int | None]) -> None:
        want = sorted({i for i in file_ids if i is not None and i not in self._sha})
        for i in range(0, len(want), 500):
            for fid, sha in self.session.execute(
                select(File.id, File.sha256).where(File.id.in_(want[i : i + 500]))
            ):
                self._sha[int(fid)] = sha

    def lines(self, file_id: int) -> list[str] | None:
        if file_id in self._lines:
            return self._lines[file_id]
        out: list[str] | None = None
        if self.data_dir is not None:
            self.prefetch([file_id])
            sha = self._sha.get(file_id)
            out = _stored_lines(self.data_dir, sha) if sha is not None else None
        self._lines[file_id] = out
        return out

    def text(self, file_id: int | None, line_start: int | None, line_end: int | None) -> str | None:
        """Lines ``line_start..line_end`` (1-based, inclusive) of the file, or None if unknown."""
        if file_id is None or line_start is None or line_end is None or line_start < 1:
            return None
        lines = self.lines(file_id)
        if lines is None or line_start > len(lines):
            return None
        end = min(line_end, len(lines), line_start + MAX_EVIDENCE_LINES - 1)
        body = "\n".join(lines[line_start - 1 : end])
        return body + "\n…" if end < min(line_end, len(lines)) else body


def content_link(file_id: int | None, line_start: int | None, line_end: int | None) -> str | None:
    if file_id is None:
        return None
    if line_start is None or line_end is None:
        return f"/api/v1/files/{file_id}/content"
    return f"/api/v1/files/{file_id}/content?from={line_start}&to={line_end}"
