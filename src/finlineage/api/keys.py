"""API-key verification for requests.

A verified key is remembered (cachetools TTL cache) so a request does not write `last_used_at`
every time, but a remembered key is still checked against the store on every request (one indexed
read): a key revoked on any instance, through the API or the CLI, fails on the very next request.
Open WebSockets of a revoked key are closed by the connection manager's revocation watch.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from cachetools import TTLCache
from sqlalchemy.orm import Session, sessionmaker

from finlineage.store import keys as key_store
from finlineage.store import repositories as repo


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: int
    name: str
    role: str
    prefix: str


class KeyService:
    def __init__(self, sessions: sessionmaker[Session], ttl_s: float = 30.0) -> None:
        self._sessions = sessions
        self._cache: TTLCache[str, KeyRecord] = TTLCache(maxsize=10_000, ttl=max(0.001, ttl_s))
        self._lock = threading.Lock()

    def verify(self, plaintext: str) -> KeyRecord | None:
        digest = repo.hash_api_key(plaintext)
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None:
            with self._sessions() as session:
                if key_store.key_is_active(session, hit.id):
                    return hit
            self.forget(hit.id)
            return None
        with self._sessions() as session:
            row = repo.verify_api_key(session, plaintext, touch=True)
            record = KeyRecord(row.id, row.name, row.role, row.prefix) if row is not None else None
            session.commit()
        if record is not None:
            with self._lock:
                self._cache[digest] = record
        return record

    def revoked_among(self, key_ids: set[int]) -> set[int]:
        with self._sessions() as session:
            return key_store.revoked_among(session, key_ids)

    def forget(self, key_id: int) -> None:
        with self._lock:
            for digest, record in list(self._cache.items()):
                if record.id == key_id:
                    self._cache.pop(digest, None)

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
        self.forget(key_id)
        return done
