"""Console sign-in: an admin or read API key becomes a server-side session.

The cookie holds a random token; the database holds only its hash, the key it came from, the
key's scope, a CSRF token and an expiry, so sessions survive a restart and are shared by every
server worker. The cookie is HttpOnly and SameSite=Strict (Secure when served over https).
Every form carries the session's CSRF token; read keys see everything and change nothing.
A revoked key ends its sessions at the next request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import Request
from sqlalchemy import delete, insert, select
from starlette.responses import Response

from monogram.core.clock import now
from monogram.core.errors import AuthError, MonogramError, ScopeError
from monogram.keys import authorize
from monogram.store.tables import api_keys, console_sessions
from monogram.workspace import Workspace

COOKIE = "monogram_console"
LIFETIME = timedelta(hours=8)


class SignInNeeded(MonogramError):
    """No session, or it expired: the page sends the browser to sign in."""

    status_code = 401
    code = "sign_in"


@dataclass(frozen=True)
class Session:
    key_id: str
    key_name: str
    scope: str
    csrf: str

    @property
    def can_change(self) -> bool:
        return self.scope == "admin"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(ws: Workspace, secret: str) -> str:
    """A new session's cookie token for an admin or read key (AuthError otherwise)."""
    secret = secret.strip()
    try:
        key = authorize(ws.store, secret, "read")
    except ScopeError as exc:
        raise AuthError("the console takes an admin or a read key, not a write key") from exc
    token = secrets.token_urlsafe(32)
    at = now()
    with ws.store.write() as conn:
        conn.execute(delete(console_sessions).where(console_sessions.c.expires_at < at))
        conn.execute(
            insert(console_sessions).values(
                id_hash=_hash(token),
                key_id=key.id,
                scope=key.scope,
                csrf=secrets.token_urlsafe(24),
                created_at=at,
                expires_at=at + LIFETIME,
            )
        )
    return token


def current(ws: Workspace, request: Request) -> Session:
    token = request.cookies.get(COOKIE)
    if not token:
        raise SignInNeeded("sign in with an admin or read API key")
    with ws.store.read() as conn:
        row = conn.execute(
            select(console_sessions, api_keys.c.name, api_keys.c.revoked_at)
            .join(api_keys, api_keys.c.id == console_sessions.c.key_id)
            .where(console_sessions.c.id_hash == _hash(token))
        ).first()
    if row is None or row.expires_at < now():
        raise SignInNeeded("your session has expired: sign in again")
    if row.revoked_at is not None:
        raise SignInNeeded("the key this session used was revoked: sign in with another")
    return Session(row.key_id, row.name, row.scope, row.csrf)


def sign_out(ws: Workspace, request: Request) -> None:
    token = request.cookies.get(COOKIE)
    if token:
        with ws.store.write() as conn:
            conn.execute(delete(console_sessions).where(console_sessions.c.id_hash == _hash(token)))


def set_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/ui",
    )


def check_csrf(session: Session, form: Any) -> None:
    sent = str(form.get("csrf") or "")
    if not hmac.compare_digest(sent.encode("utf-8", "replace"), session.csrf.encode()):
        raise ScopeError("the form is out of date (its security token does not match): reload")


def require_change(session: Session) -> None:
    if not session.can_change:
        raise ScopeError(
            f"you are signed in with a read key ({session.key_name or session.key_id}): it can "
            "see everything and change nothing"
        )
