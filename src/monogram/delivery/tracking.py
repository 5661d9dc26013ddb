"""Sealed tracking links: the open pixel, click redirects and one-click unsubscribe.

A token carries what it is about (kind, message, decision, profile, for a click the target URL,
and an expiry) sealed with AES-256-GCM under a key derived from the workspace secret: nobody
can read the ids in it, forge one, or turn it into an open redirect. Open and click links
expire after ``TOKEN_DAYS``; an unsubscribe link is honoured for ever. Tokens of the earlier
signed-but-readable form are still accepted.
Each hit becomes an event in the CDP (``Email Opened``, ``Email Link Clicked``,
``Unsubscribed``) carrying the decision id, so outcomes join back to the decision.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import time
from typing import Any

import orjson

from monogram.core.errors import AuthError

LINK = re.compile(r"https?://[^\s\"'<>]+")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


TOKEN_DAYS = 365


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"monogram tracking v2\x00" + secret.encode()).digest()


def make_token(secret: str, payload: dict[str, Any], *, days: int = TOKEN_DAYS) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    sealed = {**payload, "x": int(time.time()) + days * 86_400}
    nonce = os.urandom(12)
    data = AESGCM(_key(secret)).encrypt(nonce, orjson.dumps(sealed), b"t2")
    return _b64(nonce + data)


def read_token(secret: str, token: str) -> dict[str, Any]:
    """The payload of a genuine token; AuthError for anything tampered with or expired."""
    if "." in token:
        return _read_signed(secret, token)
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        raw = _unb64(token)
        payload: dict[str, Any] = orjson.loads(
            AESGCM(_key(secret)).decrypt(raw[:12], raw[12:], b"t2")
        )
    except (ValueError, InvalidTag, orjson.JSONDecodeError) as exc:
        raise AuthError("invalid tracking link") from exc
    if payload.get("k") != "unsubscribe" and payload.get("x", 0) < time.time():
        raise AuthError("this tracking link has expired")
    return payload


def _read_signed(secret: str, token: str) -> dict[str, Any]:
    """A token of the earlier form: readable JSON with an HMAC-SHA256 over it."""
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


def _image_signature(secret: str, name: str) -> str:
    mac = hmac.new(_key(secret), b"image\x00" + name.encode(), hashlib.sha256).digest()
    return _b64(mac[:16])


def image_url(secret: str, base_url: str, name: str) -> str:
    """The stable URL a creative is served at: its content-addressed name and a signature, so
    nobody can enumerate or fetch files by guessing names. The same file always has the same
    URL (cacheable by mail clients and CDNs)."""
    return f"{base_url.rstrip('/')}/i/{name}?s={_image_signature(secret, name)}"


def image_allowed(secret: str, name: str, signature: str) -> bool:
    expected = _image_signature(secret, name).encode()
    return hmac.compare_digest(expected, signature.encode("utf-8", "replace"))
