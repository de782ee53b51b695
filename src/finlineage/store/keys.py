"""API keys: only SHA-256 hashes are stored.

Every function takes the session first and never commits: the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import (
    delete,
    select,
    update,
)
from sqlalchemy.orm import Session

from finlineage.store.bulk import _rowcount
from finlineage.store.models import (
    ApiKey,
    utcnow,
)

API_KEY_PREFIX = "flk_"


def hash_api_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def create_api_key(session: Session, name: str, role: str = "viewer") -> tuple[ApiKey, str]:
    """Create a key; returns ``(row, plaintext)``. The plaintext is not stored and cannot be
    recovered: only its SHA-256 and its first 8 characters (for display) are kept."""
    plaintext = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, role=role, key_hash=hash_api_key(plaintext), prefix=plaintext[:8])
    session.add(key)
    session.flush()
    return key, plaintext


def verify_api_key(session: Session, plaintext: str, *, touch: bool = True) -> ApiKey | None:
    """The active key whose hash matches, else ``None``; updates ``last_used_at``."""
    if not plaintext:
        return None
    digest = hash_api_key(plaintext)
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
    if key is None or not hmac.compare_digest(key.key_hash, digest) or key.revoked:
        return None
    if touch:
        key.last_used_at = utcnow()
        session.flush()
    return key


def list_api_keys(session: Session, *, include_revoked: bool = False) -> list[ApiKey]:
    stmt = select(ApiKey).order_by(ApiKey.name)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked.is_(False))
    return list(session.scalars(stmt))


def get_api_key_by_name(session: Session, name: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.name == name))


def revoke_api_key(session: Session, key_id: int) -> bool:
    result = session.execute(update(ApiKey).where(ApiKey.id == key_id).values(revoked=True))
    session.expire_all()
    return _rowcount(result) > 0


def delete_api_key(session: Session, key_id: int) -> bool:
    result = session.execute(delete(ApiKey).where(ApiKey.id == key_id))
    return _rowcount(result) > 0


def revoked_among(session: Session, key_ids: set[int]) -> set[int]:
    """Which of `key_ids` are revoked or gone (one indexed read; used to close their sockets)."""
    if not key_ids:
        return set()
    active = set(session.scalars(select(ApiKey.id).where(ApiKey.id.in_(key_ids), ApiKey.revoked.is_(False))))
    return set(key_ids) - active


def key_is_active(session: Session, key_id: int) -> bool:
    return bool(session.scalar(select(ApiKey.id).where(ApiKey.id == key_id, ApiKey.revoked.is_(False))))
