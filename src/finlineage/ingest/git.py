"""Git sources: URL checks and cloning, kept apart from parsing.

check_git_url(settings, url)                 # raises GitError before any connection
clone(settings, url, ref, dest)              # raises GitError (sanitised message)
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

from finlineage.ingest.sources import within
from finlineage.settings import Settings


class GitError(Exception):
    """A git source refused or failed; ``status``/``code`` map onto the API error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def check_git_url(settings: Settings, url: str) -> None:
    if url.startswith("-"):
        raise GitError(422, "validation_error", "invalid git URL")
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme in ("http", "https", "ssh", "git"):
        return
    if scheme == "" and "@" in url and ":" in url and not url.startswith(("/", ".")):
        return  # scp-like ssh: git@host:org/repo.git
    if scheme in ("", "file"):
        local = parsed.path if scheme == "file" else url
        roots = [Path(r).expanduser().resolve() for r in settings.ingest_roots]
        if not any(within(Path(local), r) for r in roots):
            raise GitError(403, "forbidden", "local git repositories must lie under FINLINEAGE_INGEST_ROOTS")
        return
    raise GitError(422, "validation_error", f"unsupported git URL scheme {scheme!r}")


def clone(settings: Settings, url: str, ref: str | None, dest: Path) -> None:
    env = {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ALLOW_PROTOCOL": "http:https:ssh:git:file",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    base = ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.symlinks=false"]
    tries: list[list[list[str]]] = []
    if ref:
        tries.append([[*base, "clone", "--quiet", "--depth", "1", "--branch", ref, "--", url, str(dest)]])
        tries.append(
            [
                [*base, "clone", "--quiet", "--no-checkout", "--", url, str(dest)],
                [*base, "-C", str(dest), "checkout", "--quiet", ref, "--"],
            ]
        )
    else:
        tries.append([[*base, "clone", "--quiet", "--depth", "1", "--", url, str(dest)]])
    error = ""
    for steps in tries:
        shutil.rmtree(dest, ignore_errors=True)
        ok = True
        for cmd in steps:
            try:
                proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                ok, error = False, str(exc)
                break
            if proc.returncode != 0:
                ok, error = False, (proc.stderr or proc.stdout).strip()[-500:]
                break
        if ok:
            return
    raise GitError(422, "git_failed", f"git clone of {url} failed: {error}")
