"""dbt projects without a manifest, and the one way dbt warnings list paths.

A dbt project is a folder with a ``dbt_project.yml``. Its models are Jinja, not SQL, until dbt
compiles them; an ingest that has the project's files but no ``manifest.json`` for it (a git
repository ignores ``target/``) cannot read them, and says so file by file (ingest/dbt.py
calls :func:`without_manifest` for every ingest)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from finlineage.ingest.dbt_manifest import PROJECT_FILE, PROJECT_FILE_SUFFIXES, is_artifact

if TYPE_CHECKING:
    from finlineage.ingest.sources import SourceFile


def names(paths: list[str], shown: int = 20) -> str:
    """Paths for a warning; when they are more than ``shown``, it says how many are left out."""
    more = f" (and {len(paths) - shown} more)" if len(paths) > shown else ""
    return ", ".join(paths[:shown]) + more


_JINJA_MARK = re.compile(rb"\{\{|\{%|\{#")


def project_roots(files: list[SourceFile]) -> dict[str, set[str]]:
    """Folders (logical path prefixes, by group) holding a ``dbt_project.yml``: among the files
    (an upload of loose files) or on disk beside them (a directory, git checkout, archive)."""
    roots: dict[str, set[str]] = {}
    seen: dict[tuple[str, str], bool] = {}
    for sf in files:
        parts = sf.path.split("/")[:-1]
        if sf.path.rsplit("/", 1)[-1] == PROJECT_FILE:
            roots.setdefault(sf.group, set()).add("".join(f"{x}/" for x in parts))
        if sf.location is None:
            continue
        for k in range(len(parts), -1, -1):
            folder = "".join(f"{x}/" for x in parts[:k])
            if (sf.group, folder) not in seen:
                try:
                    here = (sf.location.parents[len(parts) - k] / PROJECT_FILE).is_file()
                except (OSError, IndexError):
                    here = False
                seen[(sf.group, folder)] = here
            if seen[(sf.group, folder)]:
                roots.setdefault(sf.group, set()).add(folder)
    return roots


def without_manifest(
    files: list[SourceFile],
    covered: set[tuple[str, str]],
    read: list[tuple[str, str]],
    warnings: list[str],
) -> set[int]:
    """dbt projects (a ``dbt_project.yml``) that come without a ``manifest.json`` (a git
    repository ignores ``target/``): their Jinja ``.sql`` files are not SQL until dbt compiles
    them, so each fails saying so (never a syntax error at a ``{{``) and a snapshot ingest
    leaves what is stored of the project as it is; their dbt output and own non-SQL files are
    dropped; their plain SQL files go through. ``covered``: (group, root) of the projects whose
    manifest is in the ingest (readable or not); ``read``: (group, root) of the readable ones
    (their installed packages are theirs). Returns the indexes of the files to drop."""
    from finlineage.ingest.sources import is_sql_name

    roots = project_roots(files)
    if not roots:
        return set()
    drop: set[int] = set()
    jinja: dict[str, list[str]] = {}
    for i, sf in enumerate(files):
        if sf.error is not None or is_artifact(sf.path):
            continue
        under = [r for r in roots.get(sf.group, ()) if sf.path.startswith(r)]
        if not under:
            continue
        root = max(under, key=len)  # the innermost project
        inner = max((x for g, x in read if g == sf.group and sf.path.startswith(x)), key=len, default=None)
        if (sf.group, root) in covered or (
            inner is not None and (len(inner) >= len(root) or sf.path.startswith(inner + "dbt_packages/"))
        ):
            continue  # a project whose manifest speaks for it (its installed packages too)
        rest = sf.path[len(root) :]
        leaf = rest.rsplit("/", 1)[-1]
        if rest.startswith(("target/", "logs/")) or (
            not is_sql_name(leaf) and (leaf == PROJECT_FILE or leaf.lower().endswith(PROJECT_FILE_SUFFIXES))
        ):
            drop.add(i)  # dbt's output, the project's YAML/CSV/docs: never SQL to parse
            continue
        try:
            templated = is_sql_name(leaf) and _JINJA_MARK.search(sf.read()) is not None
        except OSError:
            continue  # unreadable: the pipeline reports it as it is
        if templated:
            sf.error = (
                f"not ingested: a dbt file (Jinja) of the project at {root or './'} and no manifest.json "
                "in this ingest; run `dbt compile` and ingest the project with its target/manifest.json"
            )
            sf.holds = root
            jinja.setdefault(root, []).append(rest)
    for root, paths in sorted(jinja.items()):
        warnings.append(
            f"dbt project {root or './'}: no manifest.json in this ingest (run `dbt compile`): "
            f"{len(paths)} Jinja file(s) not ingested: {names(sorted(paths))}"
        )
    return drop
