"""API-key verification for requests, with a short cache so a key check is not a write per request."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from finlineage.store import repositories as repo


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: int
    name: str
    role: str
    prefix: str


class KeyService:
    """Verifies presented keys against their stored SHA-256. Cache entries live `ttl_s`; a revoked key
    stops working within that time, and `revoke()` through this service drops it at once."""

    def __init__(self, sessions: sessionmaker[Session], ttl_s: float = 30.0) -> None:
        self._sessions = sessions
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, KeyRecord | None]] = {}
        self._lock = threading.Lock()

    def verify(self, plaintext: str) -> KeyRecord | None:
        digest = repo.hash_api_key(plaintext)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and now - hit[0] < self._ttl_s:
            return hit[1]
        with self._sessions() as session:
            row = repo.verify_api_key(session, plaintext, touch=True)
            record = KeyRecord(row.id, row.name, row.role, row.prefix) if row is not None else None
            session.commit()
        with self._lock:
            if len(self._cache) > 10_000:  # bounded: garbage keys must not grow memory forever
                self._cache.clear()
            self._cache[digest] = (now, record)
        return record

    def create(self, name: str, role: str) -> tuple[str, KeyRecord]:
        with self._sessions() as session:
            row, plaintext = repo.create_api_key(session, name=name, role=role)
            record = KeyRecord(row.id, row.name, row.role, row.prefix)
            session.commit()
        return plaintext, record

    def revoke(self, key_id: int) -> bool:
        with self._sessions() as session:
            done = repo.revoke_api_key(session, key_id)
            session.commit()
        with self._lock:
            self._cache.clear()
        return done
