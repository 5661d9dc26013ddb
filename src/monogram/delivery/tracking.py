"""Signed tracking links: the open pixel, click redirects and one-click unsubscribe.

A token carries what it is about (kind, message, decision, profile, and for a click the target
URL) and an HMAC-SHA256 over it, so links cannot be forged or turned into an open redirect.
Each hit becomes an event in the CDP (``Email Opened``, ``Email Link Clicked``,
``Unsubscribed``) carrying the decision id, so outcomes join back to the decision.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

import orjson

from monogram.core.errors import AuthError

LINK = re.compile(r"https?://[^\s\"'<>]+")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(secret: str, payload: dict[str, Any]) -> str:
    body = _b64(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS))
    mac = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()[:16]
    return f"{body}.{_b64(mac)}"


def read_token(secret: str, token: str) -> dict[str, Any]:
    """The payload of a genuine token; AuthError for anything tampered with."""
    body, _, mac = token.partition(".")
    expected = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()[:16]
    try:
        if not hmac.compare_digest(_unb64(mac), expected):
            raise AuthError("invalid tracking link")
        payload: dict[str, Any] = orjson.loads(_unb64(body))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise AuthError("invalid tracking link") from exc
    return payload


def links(
    secret: str, base_url: str, *, message_id: str, decision_id: str, profile_id: str
) -> dict[str, str]:
    base = base_url.rstrip("/")
    common = {"m": message_id, "d": decision_id, "p": profile_id}
    return {
        "open": f"{base}/t/o/{make_token(secret, {**common, 'k': 'open'})}",
        "unsubscribe": f"{base}/t/u/{make_token(secret, {**common, 'k': 'unsubscribe'})}",
    }


def click_url(
    secret: str, base_url: str, target: str, *, message_id: str, decision_id: str, profile_id: str
) -> str:
    token = make_token(
        secret, {"m": message_id, "d": decision_id, "p": profile_id, "k": "click", "u": target}
    )
    return f"{base_url.rstrip('/')}/t/c/{token}"
