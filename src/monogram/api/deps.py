"""Shared dependencies: the workspace, API-key checks and request bodies."""

from __future__ import annotations

import base64
import threading
import time
import zlib
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from monogram.api.ratelimit import RateLimiter
from monogram.core.errors import AuthError, PayloadTooLarge, ValidationError
from monogram.keys import ApiKey, Scope, authorize
from monogram.workspace import Workspace

MAX_BODY_BYTES = 500 * 1024


def get_workspace(request: Request) -> Workspace:
    workspace: Workspace = request.app.state.workspace
    return workspace


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]


def key_from_headers(request: Request) -> str | None:
    """The API key from ``Authorization: Basic base64(KEY:)`` (Segment's way) or ``Bearer KEY``."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError) as exc:
            raise AuthError("Authorization header is not valid Basic auth") from exc
        return decoded.partition(":")[0] or None
    if scheme.lower() == "bearer" and value:
        return value.strip()
    return None


async def check_header_key(request: Request, scope: Scope) -> ApiKey | None:
    """Check a key sent in the headers before the body is read; None when there is none
    (the key may then be in the body, as Segment's SDKs put it)."""
    if key_from_headers(request) is None:
        return None
    return await check_key(request, scope)


class QuarantineBudget:
    """How many rejected events each key may still have kept in quarantine this hour: a
    client that sends junk all day fills a bounded number of rows, then only counts."""

    def __init__(self) -> None:
        self._used: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def remaining(self, key_id: str, per_hour: int) -> int:
        hour = int(time.time() // 3600)
        with self._lock:
            seen_hour, used = self._used.get(key_id, (hour, 0))
            return per_hour - (used if seen_hour == hour else 0)

    def spend(self, key_id: str, rows: int) -> None:
        hour = int(time.time() // 3600)
        with self._lock:
            seen_hour, used = self._used.get(key_id, (hour, 0))
            self._used[key_id] = (hour, (used if seen_hour == hour else 0) + rows)


async def check_key(request: Request, scope: Scope, body_key: str | None = None) -> ApiKey:
    workspace = get_workspace(request)
    secret = key_from_headers(request) or body_key
    key = await run_in_threadpool(authorize, workspace.store, secret, scope)
    limit = workspace.config.api.rate_limit.get(key.scope, 0)
    limiter: RateLimiter | None = getattr(request.app.state, "limiter", None)
    if limiter is not None and limit > 0:
        limiter.open(workspace.home / "run" / "rate-limits")  # shared by the server's workers
        limiter.take(key.id, limit)
    return key


def require(scope: Scope) -> Any:
    async def dependency(request: Request) -> ApiKey:
        return await check_key(request, scope)

    return Depends(dependency)


ReadKey = Annotated[ApiKey, require("read")]
WriteKey = Annotated[ApiKey, require("write")]
AdminKey = Annotated[ApiKey, require("admin")]


async def json_body(request: Request, limit: int = MAX_BODY_BYTES) -> Any:
    """The request's JSON body, gunzipped if sent with ``Content-Encoding: gzip``.

    Over ``limit`` bytes (after decompression) is a PayloadTooLarge; bad JSON names the error.
    """
    raw = await read_bounded(request, limit)
    encoding = request.headers.get("content-encoding", "").lower().strip()
    if encoding == "gzip":
        raw = _gunzip(raw, limit)
    elif encoding not in ("", "identity"):
        raise ValidationError(f"unsupported Content-Encoding {encoding!r}; send gzip or nothing")
    if len(raw) > limit:
        raise PayloadTooLarge(
            f"request body is {len(raw)} bytes; the limit is {limit} bytes ({limit // 1024} KB)"
        )
    if not raw.strip():
        raise ValidationError("request body is empty; send a JSON object")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValidationError(f"malformed JSON: {exc}") from exc


async def read_bounded(request: Request, limit: int) -> bytes:
    """The body, read as it streams in and abandoned as soon as it passes ``limit`` bytes (a
    declared Content-Length over the limit is refused before reading anything)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            f"request body is {int(declared)} bytes; "
            f"the limit is {limit} bytes ({limit // 1024} KB)"
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(
                f"request body is over the limit of {limit} bytes ({limit // 1024} KB)"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _gunzip(raw: bytes, limit: int) -> bytes:
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decompressor.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise ValidationError(f"body says gzip but is not valid gzip: {exc}") from exc
    if len(out) > limit or decompressor.unconsumed_tail:
        raise PayloadTooLarge(f"decompressed body is over the {limit // 1024} KB limit")
    return out
