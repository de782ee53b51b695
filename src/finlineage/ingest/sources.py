"""Where the SQL files of an ingestion come from, and the rules that keep bad input harmless.

Every source (a directory on the server, uploaded files, a zip / tar.gz archive, a git clone,
pasted SQL) becomes a list of :class:`SourceFile`: a *logical* path (the dedup key inside the
repository, always relative, `/`-separated) and where its bytes are on disk (always inside the
data directory or an allowed ingest root). Unsafe or unusable input is not an exception: it is a
:class:`SourceFile` with ``error`` set, reported per file while the run goes on.

Size: a file over ``max_file_mb`` is rejected, a dbt ``manifest.json`` / ``catalog.json`` over
``dbt_artifact_max_mb`` (their own, larger limit); the reason names the setting to raise.

Archive rules (zip, tar, tar.gz/tgz): members with ``..``, absolute or drive paths, links
(symbolic and hard) and device files are rejected one by one; an archive with more members
than ``max_archive_members``, whose expansion ratio exceeds ``max_archive_ratio`` or whose
expanded size exceeds ``max_archive_total_mb`` is rejected whole. Sizes declared in headers
are not trusted: extraction stops copying at the limits.
"""

from __future__ import annotations

import os
import re
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from finlineage.ingest import dbt  # dbt manifest.json/catalog.json are collected too (ingest/dbt.py)
from finlineage.settings import Settings

SQL_SUFFIXES = frozenset(
    {
        ".sql",
        ".ddl",
        ".dml",
        ".tsql",
        ".psql",
        ".pgsql",
        ".plsql",
        ".pls",
        ".pks",
        ".pkb",
        ".prc",
        ".fnc",
        ".trg",
        ".vw",
        ".tab",
        ".hql",
        ".bteq",
        ".spark",
        ".snowsql",
        ".bql",
    }
)
ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")
CONFIG_NAME = "finlineage.toml"
SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", "node_modules", ".venv"})
_DRIVE = re.compile(r"^[A-Za-z]:")
_COPY_CHUNK = 1 << 20


class UnsafePath(ValueError):
    """A path that must not be used (``..``, absolute, empty, control characters)."""


@dataclass(slots=True)
class SourceFile:
    path: str
    """Logical, relative, `/`-separated path: the dedup key within the repository."""
    location: Path | None = None
    """Where the bytes are (None for rejected entries and inline text)."""
    data: bytes | None = None
    """Inline content (pasted SQL)."""
    group: str = ""
    """Files of one tree/archive share a group; `finlineage.toml` applies within its group."""
    explicit_dialect: str | None = None
    error: str | None = None
    size: int = 0
    parse_data: bytes | None = None
    """The text the engine parses when it is not the file's own (a dbt model: dbt's compiled SQL,
    see ingest/dbt.py); the file's own bytes stay what is stored and served as evidence."""
    error_line: int | None = None
    """Where in the file's own text ``error`` is, when it is about its content (1-based; a dbt
    artifact that is not valid JSON: JSON's own position)."""
    error_column: int | None = None
    error_code: str | None = None
    """Diagnostic code of ``error`` when it is about the file's content (``dbt_manifest_invalid``)."""
    holds: str | None = None
    """A dbt manifest that could not be read: the folder (logical path prefix) of the project it
    stands for, which this ingest leaves as stored (a snapshot removes nothing under it)."""

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.location is not None
        with open(self.location, "rb") as fh:
            return fh.read()


def is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def is_sql_name(name: str) -> bool:
    return PurePosixPath(name.lower()).suffix in SQL_SUFFIXES


def safe_relpath(name: str) -> str:
    """Normalise an untrusted relative path (upload filename, archive member) or raise."""
    if not name or not name.strip():
        raise UnsafePath("empty path")
    if any(ord(ch) < 32 for ch in name):
        raise UnsafePath("path contains control characters")
    raw = name.replace("\\", "/")
    if raw.startswith("/") or _DRIVE.match(raw):
        raise UnsafePath(f"absolute path {name!r} is not allowed")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UnsafePath(f"path {name!r} escapes its folder ('..')")
    if not parts:
        raise UnsafePath("empty path")
    return "/".join(parts)


def within(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def dest_for(root: Path, relpath: str) -> Path:
    """``root/relpath`` after checking it cannot leave ``root`` (no symlinks followed)."""
    target = root.joinpath(*relpath.split("/"))
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    if not within(parent, root):
        raise UnsafePath(f"{relpath!r} resolves outside its folder")
    if target.is_symlink():
        raise UnsafePath(f"{relpath!r} is a link")
    return target


def max_file_bytes(settings: Settings, name: str = "") -> int:
    """The size limit of a file named ``name``: a dbt artifact (``manifest.json``,
    ``catalog.json``) has its own, far larger one; everything else is a SQL file's."""
    return int(_limit_mb(settings, name)[0] * 1024 * 1024)


def _limit_mb(settings: Settings, name: str) -> tuple[float, str]:
    if name and dbt.is_artifact(name):
        return settings.dbt_artifact_max_mb, "FINLINEAGE_DBT_ARTIFACT_MAX_MB"
    return settings.max_file_mb, "FINLINEAGE_MAX_FILE_MB"


def too_big_reason(size: int, settings: Settings, name: str = "") -> str:
    """Why a file is not read, naming the setting that raises the limit."""
    limit, setting = _limit_mb(settings, name)
    return f"file too large: {size / 1048576:.1f} MiB exceeds the {limit:g} MiB limit (raise {setting})"


# --------------------------------------------------------------------------------------
# directories (server folders, git checkouts, extracted trees)
# --------------------------------------------------------------------------------------


def walk_tree(root: Path, settings: Settings, *, prefix: str = "", group: str = "") -> Iterator[SourceFile]:
    """SQL files and `finlineage.toml` files under ``root``; links are never followed."""
    root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        base = Path(dirpath)
        for fname in sorted(filenames):
            full = base / fname
            rel = full.relative_to(root).as_posix()
            logical = f"{prefix}{rel}"
            if not _ingested_name(fname):
                continue
            try:
                st = full.lstat()
            except OSError as exc:
                yield SourceFile(logical, group=group, error=f"unreadable: {exc.strerror or exc}")
                continue
            if stat.S_ISLNK(st.st_mode):
                yield SourceFile(logical, group=group, error="symbolic link: not followed")
                continue
            if not stat.S_ISREG(st.st_mode):
                yield SourceFile(logical, group=group, error="not a regular file")
                continue
            if st.st_size > max_file_bytes(settings, fname):
                yield SourceFile(
                    logical, group=group, error=too_big_reason(st.st_size, settings, fname), size=st.st_size
                )
                continue
            yield SourceFile(logical, location=full, group=group, size=st.st_size)


# --------------------------------------------------------------------------------------
# archives
# --------------------------------------------------------------------------------------


@dataclass(slots=True)
class ArchiveOutcome:
    files: list[SourceFile]
    error: str | None = None
    """Set when the whole archive is rejected (bomb, too many members, corrupt)."""


def _limits(settings: Settings, archive_size: int) -> tuple[int, int]:
    total_cap = int(settings.max_archive_total_mb * 1024 * 1024)
    ratio_cap = int(max(archive_size, 1) * settings.max_archive_ratio)
    return settings.max_archive_members, min(total_cap, ratio_cap)


def _too_much(total: int, settings: Settings, archive_size: int) -> str:
    ratio = total / max(archive_size, 1)
    if ratio > settings.max_archive_ratio:
        return (
            f"archive rejected: expands {ratio:.0f}x (over the {settings.max_archive_ratio:g}x "
            "expansion-ratio limit, FINLINEAGE_MAX_ARCHIVE_RATIO; possible zip bomb)"
        )
    return f"archive rejected: expands to over {settings.max_archive_total_mb:g} MiB (raise FINLINEAGE_MAX_ARCHIVE_TOTAL_MB)"


def _copy_capped(src: object, dst: Path, cap: int) -> int:
    """Copy at most ``cap`` bytes; returns bytes copied or -1 when the member is larger."""
    n = 0
    read = src.read  # type: ignore[attr-defined]
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as out:
        while True:
            chunk = read(min(_COPY_CHUNK, cap - n + 1))
            if not chunk:
                return n
            n += len(chunk)
            if n > cap:
                return -1
            out.write(chunk)


def extract_archive(
    archive: Path, name: str, dest: Path, settings: Settings, *, group: str
) -> ArchiveOutcome:
    """Safely unpack ``archive`` (uploaded as ``name``) into ``dest``; logical paths are the
    member paths relative to the archive's root."""
    lower = name.lower()
    size = archive.stat().st_size
    try:
        if lower.endswith(".zip"):
            return _extract_zip(archive, dest, settings, size, group)
        return _extract_tar(archive, dest, settings, size, group)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as exc:
        return ArchiveOutcome([], f"archive rejected: unreadable ({type(exc).__name__}: {exc})")


def _ingested_name(leaf: str) -> bool:
    """A member ingested as a file of its own: SQL, ``finlineage.toml``, a dbt artifact."""
    return is_sql_name(leaf) or leaf == CONFIG_NAME or dbt.is_artifact(leaf)


def _dbt_companion(leaf: str) -> bool:
    """A member a dbt project beside a manifest reads from disk, as it does in a directory ingest
    (its YAML, seed CSVs, Python models, docs): unpacked, never a file of its own."""
    return leaf == dbt.PROJECT_FILE or leaf.lower().endswith(dbt.PROJECT_FILE_SUFFIXES)


def _member_error(path: str, reason: str, group: str) -> SourceFile:
    return SourceFile(path, group=group, error=reason)


def _extract_zip(archive: Path, dest: Path, settings: Settings, size: int, group: str) -> ArchiveOutcome:
    max_members, max_total = _limits(settings, size)
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            return ArchiveOutcome(
                [], f"archive rejected: {len(infos)} members exceed the limit of {max_members}"
            )
        declared = sum(i.file_size for i in infos)
        if declared > max_total:
            return ArchiveOutcome([], _too_much(declared, settings, size))
        out: list[SourceFile] = []
        total = 0
        for info in infos:
            raw = info.filename
            if info.is_dir():
                continue
            try:
                rel = safe_relpath(raw)
            except UnsafePath as exc:
                out.append(_member_error(raw, f"unsafe archive member: {exc}", group))
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                out.append(_member_error(rel, "unsafe archive member: symbolic link", group))
                continue
            if mode and not stat.S_ISREG(mode) and stat.S_IFMT(mode):
                out.append(_member_error(rel, "unsafe archive member: not a regular file", group))
                continue
            leaf = rel.rsplit("/", 1)[-1]
            ingested = _ingested_name(leaf)
            if not (ingested or _dbt_companion(leaf)):
                continue
            max_file = max_file_bytes(settings, leaf)
            if info.file_size > max_file:
                if ingested:
                    out.append(_member_error(rel, too_big_reason(info.file_size, settings, leaf), group))
                continue
            if info.compress_size and info.file_size / info.compress_size > settings.max_archive_ratio:
                out.append(
                    _member_error(
                        rel,
                        f"archive member rejected: compression ratio over {settings.max_archive_ratio:g}x "
                        "(raise FINLINEAGE_MAX_ARCHIVE_RATIO)",
                        group,
                    )
                )
                continue
            target = dest_for(dest, rel)
            with zf.open(info) as src:
                n = _copy_capped(src, target, min(max_file, max_total - total))
            if n < 0:
                target.unlink(missing_ok=True)
                if total + max_file > max_total:
                    return ArchiveOutcome([], _too_much(max_total + 1, settings, size))
                out.append(_member_error(rel, too_big_reason(max_file + 1, settings, leaf), group))
                continue
            total += n
            if ingested:
                out.append(SourceFile(rel, location=target, group=group, size=n))
        return ArchiveOutcome(out)


def _extract_tar(archive: Path, dest: Path, settings: Settings, size: int, group: str) -> ArchiveOutcome:
    max_members, max_total = _limits(settings, size)
    # First pass: headers only, stopping as soon as a limit is crossed (bounded work).
    with tarfile.open(archive, mode="r:*") as tf:
        declared = 0
        for count, member in enumerate(tf, start=1):
            if count > max_members:
                return ArchiveOutcome([], f"archive rejected: more than {max_members} members")
            if member.isreg():
                declared += member.size
                if declared > max_total:
                    return ArchiveOutcome([], _too_much(declared, settings, size))
    out: list[SourceFile] = []
    total = 0
    with tarfile.open(archive, mode="r:*") as tf:
        for member in tf:
            raw = member.name
            if member.isdir():
                continue
            try:
                rel = safe_relpath(raw)
            except UnsafePath as exc:
                out.append(_member_error(raw, f"unsafe archive member: {exc}", group))
                continue
            if member.issym() or member.islnk():
                out.append(_member_error(rel, "unsafe archive member: link", group))
                continue
            if not member.isreg():
                out.append(_member_error(rel, "unsafe archive member: device or special file", group))
                continue
            leaf = rel.rsplit("/", 1)[-1]
            ingested = _ingested_name(leaf)
            if not (ingested or _dbt_companion(leaf)):
                continue
            max_file = max_file_bytes(settings, leaf)
            if member.size > max_file:
                if ingested:
                    out.append(_member_error(rel, too_big_reason(member.size, settings, leaf), group))
                continue
            src = tf.extractfile(member)
            if src is None:
                out.append(_member_error(rel, "unreadable archive member", group))
                continue
            target = dest_for(dest, rel)
            with src:
                n = _copy_capped(src, target, min(max_file, max_total - total))
            if n < 0:
                target.unlink(missing_ok=True)
                return ArchiveOutcome(out, _too_much(max_total + 1, settings, size))
            total += n
            if ingested:
                out.append(SourceFile(rel, location=target, group=group, size=n))
    return ArchiveOutcome(out)
