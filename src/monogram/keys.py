"""API keys with scopes, like Segment's write keys: sent as the Basic-auth user name.

Keys are random, shown once, and stored only as a SHA-256 hash. Scopes: ``write`` sends events,
``read`` reads profiles and contexts, ``admin`` does everything (including erasure).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select, update

from monogram.core.clock import now
from monogram.core.errors import AuthError, NotFound, ScopeError, ValidationError
from monogram.core.ids import new_id, new_secret
from monogram.store import Store
from monogram.store.tables import api_keys

Scope = Literal["write", "read", "admin"]
SCOPES: tuple[Scope, ...] = ("write", "read", "admin")


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    scope: Scope
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(store: Store, scope: str, name: str = "") -> tuple[ApiKey, str]:
    """Create a key; returns its record and the secret (shown this once, never stored)."""
    if scope not in SCOPES:
        raise ValidationError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    secret = f"mg_{scope}_{new_secret()}"
    record = ApiKey(new_id("key"), name or f"{scope} key", scope, secret[:12], now(), None)
    with store.write() as conn:
        conn.execute(
            api_keys.insert().values(
                id=record.id,
                name=record.name,
                scope=scope,
                key_hash=_hash(secret),
                prefix=record.prefix,
                created_at=record.created_at,
            )
        )
    return record, secret


def list_keys(store: Store) -> list[ApiKey]:
    with store.read() as conn:
        rows = conn.execute(select(api_keys).order_by(api_keys.c.created_at))
        return [ApiKey(r.id, r.name, r.scope, r.prefix, r.created_at, r.revoked_at) for r in rows]


def revoke_key(store: Store, key_id: str) -> None:
    with store.write() as conn:
        result = conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now())
        )
        if result.rowcount == 0:
            raise NotFound(f"no active key with id {key_id!r}")
    _verified.clear()


# Verified keys, briefly, so a busy ingestion endpoint does not read the key table per request.
# A revocation in this process takes effect at once; in another process within CACHE_SECONDS.
CACHE_SECONDS = 10.0
_verified: dict[tuple[str, str], tuple[ApiKey, float]] = {}


def authorize(store: Store, secret: str | None, needed: Scope) -> ApiKey:
    """The key for ``secret`` if it grants ``needed``; AuthError or ScopeError otherwise."""
    if not secret:
        raise AuthError(
            "missing API key: send it as the Basic-auth user name (or writeKey in the body)"
        )
    digest = _hash(secret)
    cached = _verified.get((store.url, digest))
    if cached is not None and cached[1] > time.monotonic():
        key = cached[0]
    else:
        with store.read() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_hash == digest)).first()
        if row is None or row.revoked_at is not None:
            raise AuthError("unknown or revoked API key")
        key = ApiKey(row.id, row.name, row.scope, row.prefix, row.created_at, row.revoked_at)
        _verified[(store.url, digest)] = (key, time.monotonic() + CACHE_SECONDS)
    if key.scope != "admin" and key.scope != needed:
        raise ScopeError(f"this key has scope {key.scope!r}; the endpoint needs {needed!r}")
    return key
