"""Identifiers Monogram makes: profile ids, API key ids, message ids for events that lack one."""

from __future__ import annotations

import hashlib
import secrets
import uuid

import orjson


def new_profile_id() -> str:
    return "prof_" + uuid.uuid4().hex[:20]


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def new_secret(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)


def content_message_id(payload: dict[str, object]) -> str:
    """A stable messageId for an event sent without one, so a retried payload dedupes."""
    digest = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return "auto-" + digest[:32]
