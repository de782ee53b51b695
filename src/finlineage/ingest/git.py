"""Git sources: URL checks (no SSRF) and cloning, kept apart from parsing.

    target = check_git_url(settings, url)       # GitError(422) before any connection
    cloner = GitCloner(settings)                # its own worker slots, apart from the run thread
    cloner.clone(ingestion_id, target, ref, dest)   # GitError with a sanitised message

Rules (docs/SECURITY.md):

* only the schemes in ``FINLINEAGE_GIT_ALLOWED_SCHEMES`` (https, ssh; http/git where configured);
  never ``file://``, ``ext::`` or other transports, never a local path;
* the host is resolved once; every address must be public (not loopback, RFC 1918, unique-local,
  link-local, multicast, reserved...) unless ``FINLINEAGE_GIT_ALLOWED_HOSTS`` names the host,
  host:port or a CIDR holding it; the clone is pinned to the checked address (curl's resolve list
  for http(s), the address itself for ssh/git) so a second DNS answer cannot differ;
* a clone runs in its own process group with a parent-death signal, under
  ``FINLINEAGE_GIT_TIMEOUT_S`` and ``FINLINEAGE_GIT_MAX_MB`` (checked while it runs); cancel kills
  the group and removes the partial clone;
* errors shown to users say what kind of failure happened, never git's own text (banners, port
  states); git's text goes to the server log.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from finlineage.ingest.worker import die_with_parent
from finlineage.settings import Settings

log = logging.getLogger("finlineage.ingest.git")

DEFAULT_PORTS = {"https": 443, "http": 80, "ssh": 22, "git": 9418}
SCP_LIKE = re.compile(
    r"^(?:(?P<user>[A-Za-z0-9._-]+)@)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?P<path>[^/].*)$"
)
Resolver = Callable[[str, int], Sequence[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
T = TypeVar("T")


class GitError(Exception):
    """A git source refused or failed; ``status``/``code`` map onto the API error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class GitTarget:
    url: str
    scheme: str
    host: str
    port: int
    address: str
    """The checked address the clone is pinned to."""

    def clone_url(self) -> str:
        """The URL git is given: http(s) keeps the name (TLS, virtual hosts) and is pinned through
        curl's resolve list; ssh and git connect to the checked address itself."""
        if self.scheme in ("http", "https"):
            return self.url
        if self.scheme == "ssh" and not self.url.lower().startswith("ssh://"):
            m = SCP_LIKE.match(self.url)
            assert m is not None
            user = f"{m.group('user')}@" if m.group("user") else ""
            return f"ssh://{user}{_netloc(self.address, self.port)}/{m.group('path')}"
        parts = urlsplit(self.url)
        user = f"{parts.username}@" if parts.username else ""
        return urlunsplit((parts.scheme, user + _netloc(self.address, self.port), parts.path, "", ""))

    def git_config(self) -> list[str]:
        if self.scheme in ("http", "https"):
            return ["-c", f"http.curloptResolve={self.host}:{self.port}:{_bracket(self.address)}"]
        if self.scheme == "ssh":
            # Host keys stay checked against the name the user gave.
            alias = self.host.replace('"', "")
            return ["-c", f'core.sshCommand=ssh -o HostKeyAlias="{alias}" -o BatchMode=yes']
        return []


def _bracket(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def _netloc(address: str, port: int) -> str:
    return f"{_bracket(address)}:{port}"


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _is_public(ip.ipv4_mapped)
    return bool(ip.is_global) and not ip.is_multicast and not ip.is_reserved and not ip.is_unspecified


def _allowed(settings: Settings, host: str, port: int, addresses: list[IPAddress]) -> bool:
    for raw in settings.git_allowed_hosts:
        entry = raw.strip().lower()
        if not entry:
            continue
        if "/" in entry:
            try:
                net = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                continue
            if addresses and all(a in net for a in addresses):
                return True
            continue
        name, sep, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        name = name.strip("[]")
        if sep and entry_port.isascii() and entry_port.isdigit() and int(entry_port) != port:
            continue
        if name == host:
            return True
        with contextlib.suppress(ValueError):
            if addresses and all(a == ipaddress.ip_address(name) for a in addresses):
                return True
    return False


def _split(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a remote git URL, or GitError(422)."""
    if url.startswith("-") or any(ch in url for ch in "\r\n\t\x00 "):
        raise GitError(422, "validation_error", "invalid git URL")
    if "::" in url.split("/", 1)[0] and "://" not in url:
        raise GitError(
            422, "validation_error", "git transport helpers (<transport>::<address>) are not allowed"
        )
    if "://" in url:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise GitError(422, "validation_error", f"git URL scheme {scheme!r} is not allowed")
        try:
            host, port = parts.hostname, parts.port
        except ValueError:
            raise GitError(422, "validation_error", "invalid port in git URL") from None
        if not host:
            raise GitError(422, "validation_error", "git URL has no host")
        return scheme, host.lower().rstrip("."), port or DEFAULT_PORTS[scheme]
    m = SCP_LIKE.match(url)
    if m is None or url.startswith(("/", ".", "~")):
        raise GitError(422, "validation_error", "local paths cannot be cloned; use a https:// or ssh URL")
    return "ssh", m.group("host").strip("[]").lower().rstrip("."), 22


def check_git_url(settings: Settings, url: str, *, resolver: Resolver | None = None) -> GitTarget:
    """Check a remote URL and resolve its host once; raises GitError(422) before any connection."""
    scheme, host, port = _split(url.strip())
    schemes = {s.strip().lower() for s in settings.git_allowed_schemes}
    if scheme not in schemes:
        raise GitError(
            422,
            "validation_error",
            f"git URL scheme {scheme!r} is not allowed (FINLINEAGE_GIT_ALLOWED_SCHEMES: {', '.join(sorted(schemes))})",
        )
    try:
        found = (resolver or system_resolver)(host, port)
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
    except (OSError, UnicodeError, ValueError):
        raise GitError(422, "validation_error", f"git host {host!r} cannot be resolved") from None
    if not addresses:
        raise GitError(422, "validation_error", f"git host {host!r} cannot be resolved")
    if not _allowed(settings, host, port, addresses):
        private = [a for a in addresses if not _is_public(a)]
        if private:
            raise GitError(
                422,
                "validation_error",
                f"git host {host!r} resolves to a non-public address; only public hosts can be cloned "
                "unless FINLINEAGE_GIT_ALLOWED_HOSTS names it",
            )
    return GitTarget(url=url.strip(), scheme=scheme, host=host, port=port, address=str(addresses[0]))


# ---------------------------------------------------------------------------------------- cloning

_ERROR_KINDS: list[tuple[tuple[str, ...], str]] = [
    (("could not resolve host", "name or service not known"), "the git host could not be resolved"),
    (
        ("remote branch", "did not match any", "not found in upstream", "pathspec", "invalid reference"),
        "the ref was not found",
    ),
    (
        (
            "authentication failed",
            "permission denied",
            "could not read username",
            "terminal prompts disabled",
        ),
        "authentication to the git host failed",
    ),
    (
        (
            "repository not found",
            "not found",
            "not exported",
            "access denied",
            "does not appear to be a git repository",
            "404",
        ),
        "the repository was not found",
    ),
    (("ssl", "certificate", "tls", "gnutls"), "a secure connection to the git host could not be established"),
]


def sanitise(stderr: str) -> str:
    """One sentence naming the kind of failure; never git's own text (banners, port states)."""
    low = stderr.lower()
    for needles, message in _ERROR_KINDS:
        if any(n in low for n in needles):
            return message
    return "the git host could not be reached or did not answer as a git server"


def tree_bytes(root: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")


def head_commit(dest: Path) -> str | None:
    """The commit a clone checked out (``git rev-parse HEAD``: SHA-1 or SHA-256), None when it
    cannot be read. A local command on our own clone: nothing is fetched."""
    cmd = ["git", "-c", "core.hooksPath=/dev/null", "-C", str(dest), "rev-parse", "--verify", "HEAD^{commit}"]
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=30, check=False, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and _SHA.fullmatch(sha) else None


@dataclass
class _Clone:
    dest: Path
    ingestion_id: str | None = None
    checked_at: float = 0.0
    proc: subprocess.Popen[bytes] | None = None
    cancelled: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def pinned(target: GitTarget) -> dict[str, object]:
    """What a run stores so its clone (later, maybe on a worker) uses the address checked now."""
    return {"scheme": target.scheme, "host": target.host, "port": target.port, "address": target.address}


def target_of(settings: Settings, params: dict[str, Any]) -> GitTarget:
    pin = params.get("pinned")
    if isinstance(pin, dict) and {"scheme", "host", "port", "address"} <= pin.keys():
        return GitTarget(
            url=str(params["url"]),
            scheme=str(pin["scheme"]),
            host=str(pin["host"]),
            port=int(pin["port"]),
            address=str(pin["address"]),
        )
    return check_git_url(settings, str(params["url"]))


class GitCloner:
    """Runs clones on their own worker slots, each in its own process group, and keeps track of
    them for cancel. A run's clone is fetched before the run enters the (single) run thread, so
    uploads and other runs never wait behind a slow or hanging git host."""

    def __init__(self, settings: Settings, sessions: Any = None, slots: int = 2) -> None:
        self.settings = settings
        self.sessions = sessions
        """When given, a running clone also stops once its run is cancelled in the store (a cancel
        sent to another instance while a queue worker clones)."""
        self._active: dict[str, _Clone] = {}
        self._lock = threading.Lock()
        self._outcomes: dict[str, GitError | None] = {}
        self._runner = ThreadPoolExecutor(max_workers=max(1, slots), thread_name_prefix="finlineage-git")

    def prefetch(
        self, ingestion_id: str, params: dict[str, Any], dest: Path, then: Callable[[], Future[T]]
    ) -> Future[T]:
        """Clone on a git slot, then call `then()` (which queues the run); the returned future
        follows the run's future. A clone failure is kept for `obtain()` to report in the run."""
        outer: Future[T] = Future()

        def job() -> None:
            try:
                self.clone(ingestion_id, target_of(self.settings, params), params.get("ref"), dest)
                self._outcomes[ingestion_id] = None
            except GitError as exc:
                self._outcomes[ingestion_id] = exc
            except Exception:
                log.exception("clone for %s failed", ingestion_id)
                self._outcomes[ingestion_id] = GitError(422, "git_failed", "git clone failed")
            try:
                inner = then()
            except BaseException as exc:
                with contextlib.suppress(InvalidStateError):
                    outer.set_exception(exc)
                return
            inner.add_done_callback(lambda f: _follow(f, outer))

        self._runner.submit(job)
        return outer

    def obtain(self, ingestion_id: str, params: dict[str, Any], dest: Path) -> None:
        """The run's clone: the prefetched one (or its error), else cloned now (CLI, queue workers)."""
        if ingestion_id in self._outcomes:
            error = self._outcomes.pop(ingestion_id)
            if error is not None:
                raise error
            if dest.exists():
                return
        self.clone(ingestion_id, target_of(self.settings, params), params.get("ref"), dest)

    def cancel(self, ingestion_id: str) -> bool:
        """Kill the clone's process group and remove what it wrote; True if one was running."""
        with self._lock:
            state = self._active.get(ingestion_id)
        if state is None:
            return False
        with state.lock:
            state.cancelled = True
            _kill_group(state.proc)
        if state.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                state.proc.wait(timeout=2)
        shutil.rmtree(state.dest, ignore_errors=True)
        return True

    def close(self) -> None:
        for iid in list(self._active):
            self.cancel(iid)
        self._runner.shutdown(wait=False, cancel_futures=True)

    def clone(self, ingestion_id: str, target: GitTarget, ref: str | None, dest: Path) -> None:
        state = _Clone(dest, ingestion_id)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._active[ingestion_id] = state
        try:
            self._clone(state, target, ref)
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
        finally:
            with self._lock:
                self._active.pop(ingestion_id, None)

    def _clone(self, state: _Clone, target: GitTarget, ref: str | None) -> None:
        dest = state.dest
        base = [
            "git",
            "-c", "core.hooksPath=/dev/null",
            "-c", "core.symlinks=false",
            "-c", "protocol.allow=never",
            *(c for s in sorted(self.settings.git_allowed_schemes) for c in ("-c", f"protocol.{s.strip().lower()}.allow=always")),
            "-c", "http.followRedirects=false",
            "-c", "http.lowSpeedLimit=1",
            "-c", f"http.lowSpeedTime={max(1, int(self.settings.git_timeout_s))}",
            "-c", "credential.helper=",
            *target.git_config(),
        ]  # fmt: skip
        url = target.clone_url()
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
        deadline = time.monotonic() + max(1.0, self.settings.git_timeout_s)
        message = ""
        for steps in tries:
            shutil.rmtree(dest, ignore_errors=True)
            for cmd in steps:
                message = self._run(state, cmd, deadline)
                if message:
                    break
            else:
                return
            if message.startswith(("!", "the clone")):
                break  # cancelled, timed out or too large: no second try
        raise GitError(422, "git_failed", f"git clone of {target.url} failed: {message.lstrip('!')}")

    def _cancelled_in_store(self, state: _Clone) -> bool:
        """At most once a second: is the run this clone belongs to cancelled in the store?"""
        if self.sessions is None or state.ingestion_id is None:
            return False
        now = time.monotonic()
        if now - state.checked_at < 1.0:
            return False
        state.checked_at = now
        from finlineage.store import repositories as repo

        try:
            with self.sessions() as session:
                run = repo.get_run_by_ingestion_id(session, state.ingestion_id)
                return run is not None and run.status == "cancelled"
        except Exception:  # the store may be busy; the next look decides
            return False

    def _run(self, state: _Clone, cmd: list[str], deadline: float) -> str:
        """Run one git command; '' on success, else a sanitised message."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.settings.data_dir),
            "LANG": "C",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ALLOW_PROTOCOL": ":".join(s.strip().lower() for s in self.settings.git_allowed_schemes),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_ASKPASS": "/bin/false",
            "SSH_ASKPASS": "/bin/false",
        }
        limit = int(self.settings.git_max_mb * 1024 * 1024)
        with state.lock:
            if state.cancelled:
                return "!the clone was cancelled"
            try:
                proc = subprocess.Popen(
                    cmd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    preexec_fn=_child_setup,  # own group + parent-death signal
                )
            except OSError as exc:
                log.warning("git could not start: %s", exc)
                return "!git is not available on the server"
            state.proc = proc
            _watch_group(proc.pid)
        stderr_chunks: list[bytes] = []
        reader = threading.Thread(
            target=lambda: stderr_chunks.append(proc.stderr.read() if proc.stderr else b"")
        )
        reader.start()
        outcome = ""
        while proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.25)
                break
            if state.cancelled or self._cancelled_in_store(state):
                state.cancelled = True
                outcome = "!the clone was cancelled"
            elif time.monotonic() > deadline:
                outcome = (
                    f"the clone took longer than FINLINEAGE_GIT_TIMEOUT_S ({self.settings.git_timeout_s:g} s)"
                )
            elif state.dest.exists() and tree_bytes(state.dest) > limit:
                outcome = f"the clone grew past FINLINEAGE_GIT_MAX_MB ({self.settings.git_max_mb:g} MiB)"
            if outcome:
                _kill_group(proc)
                proc.wait()
                break
        reader.join(timeout=5)
        if state.cancelled:
            return "!the clone was cancelled"
        if outcome:
            return outcome
        if proc.returncode != 0:
            text = b"".join(stderr_chunks).decode("utf-8", "replace")
            log.info("git failed (exit %s): %s", proc.returncode, text.strip()[-2000:])
            return sanitise(text)
        if state.dest.exists() and tree_bytes(state.dest) > limit:
            return f"the clone grew past FINLINEAGE_GIT_MAX_MB ({self.settings.git_max_mb:g} MiB)"
        return ""


def _follow(inner: Future[T], outer: Future[T]) -> None:
    with contextlib.suppress(InvalidStateError):
        if inner.cancelled():
            outer.cancel()
        elif inner.exception() is not None:
            outer.set_exception(inner.exception())
        else:
            outer.set_result(inner.result())


_GROUP_WATCH = """
import os, signal, sys, time
group, parent = int(sys.argv[1]), int(sys.argv[2])
while True:
    try:
        os.killpg(group, 0)
    except OSError:
        sys.exit(0)  # the clone is over
    if os.getppid() != parent:  # the server died (kill -9 included): take git's helpers with it
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
        sys.exit(0)
    time.sleep(0.2)
"""


def _watch_group(group: int) -> None:
    """git's helpers (git-remote-http, ssh) do not inherit the parent-death signal: a small watcher
    kills the clone's whole process group if the server dies, and exits with the clone."""
    with contextlib.suppress(OSError):
        subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _GROUP_WATCH, str(group), str(os.getpid())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )


def _child_setup() -> None:
    os.setsid()  # its own process group: cancel kills git and its helpers together
    die_with_parent()


def _kill_group(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
