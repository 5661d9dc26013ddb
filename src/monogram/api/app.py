"""The FastAPI application: one router per resource, errors mapped to status codes here."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from monogram import __version__
from monogram.api.deps import QuarantineBudget
from monogram.api.ratelimit import RateLimiter
from monogram.api.responses import ERRORS, JSON
from monogram.api.routes import (
    catalog,
    health,
    identity,
    images,
    learning,
    links,
    personalize,
    profiles,
    replies,
    reviews,
    segments,
    tracking,
)
from monogram.core.errors import MonogramError, RateLimited
from monogram.web import console
from monogram.workspace import Workspace, open_workspace


async def _update_policies(workspace: Workspace, minutes: float) -> None:
    """Reward decisions past their window and update policies, every ``minutes``."""
    from starlette.concurrency import run_in_threadpool

    from monogram.learning.update import update_policies

    log = logging.getLogger("monogram.learning")
    while True:
        await asyncio.sleep(minutes * 60)
        try:
            result = await run_in_threadpool(update_policies, workspace)
        except MonogramError as exc:  # a bad config must not stop the server; say so
            log.error("policy update failed: %s", exc.message)
        else:
            if result["rewarded"]:
                log.info("policies updated: %s", result)


# Identifier values in URL paths (/v1/profiles/email:ana@example.com) are personal data: the
# access log shows a short hash instead, enough to follow one person's requests, not to read them.
IDENTIFIER_IN_PATH = re.compile(r"(/v1/profiles/)([a-z0-9_]+):([^/?\s\"]+)")


def _redact(text: str) -> str:
    def hashed(match: re.Match[str]) -> str:
        digest = hashlib.sha256(unquote(match.group(3)).encode()).hexdigest()[:10]
        return f"{match.group(1)}{match.group(2)}:#{digest}"

    return IDENTIFIER_IN_PATH.sub(hashed, text)


class RedactIdentifiers(logging.Filter):
    """An access-log filter: identifier values in request paths become short hashes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(a) if isinstance(a, str) else a for a in record.args)
        record.msg = _redact(str(record.msg))
        return True


def create_app(workspace: Workspace | None = None) -> FastAPI:
    """Build the app; without a workspace it opens the one the environment names at start."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        access = logging.getLogger("uvicorn.access")
        if not any(isinstance(f, RedactIdentifiers) for f in access.filters):
            access.addFilter(RedactIdentifiers())
        owned = app.state.workspace is None
        if owned:
            app.state.workspace = open_workspace()
        updater = None
        minutes = app.state.workspace.config.learning.update_minutes
        if owned and minutes > 0:
            updater = asyncio.create_task(_update_policies(app.state.workspace, minutes))
        try:
            yield
        finally:
            if updater is not None:
                updater.cancel()
            if owned:
                app.state.workspace.close()

    app = FastAPI(
        title="Monogram",
        version=__version__,
        lifespan=lifespan,
        default_response_class=JSON,
    )
    app.state.workspace = workspace
    app.state.limiter = RateLimiter()
    app.state.quarantine = QuarantineBudget()
    routers = (
        health,
        tracking,
        profiles,
        catalog,
        segments,
        reviews,
        identity,
        links,
        images,
        personalize,
        replies,
        learning,
    )
    for module in routers:
        app.include_router(module.router, responses=ERRORS)
    console.mount(app)

    @app.middleware("http")
    async def no_nul_in_urls(request: Request, call_next: Any) -> Any:
        """No database stores a NUL character: refuse it in the path or the query at once
        (as a 400 naming where it is), before any handler passes it to a query."""
        for part, raw in (("path", request.url.path), ("query", request.url.query)):
            if "\x00" in unquote(raw) or "%00" in raw:
                return JSON(
                    {
                        "success": False,
                        "code": "invalid_request",
                        "message": f"{part}: contains a NUL character",
                        "errors": [{"field": part, "reason": "contains a NUL character"}],
                    },
                    status_code=400,
                )
        return await call_next(request)

    @app.exception_handler(MonogramError)
    async def monogram_error(_request: Request, exc: MonogramError) -> JSON:
        headers = {"WWW-Authenticate": 'Basic realm="monogram"'} if exc.status_code == 401 else None
        if isinstance(exc, RateLimited):
            headers = {"Retry-After": str(exc.retry_after)}
        return JSON(exc.as_dict(), status_code=exc.status_code, headers=headers)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def store_unavailable(_request: Request, exc: Exception) -> JSON:
        """The database is down, restarting, out of connections or cancelled a statement: a
        503 the client retries (Segment's SDKs do), never a 200 for an event not stored."""
        logging.getLogger("monogram.api").warning(
            "store unavailable: %s", str(exc).splitlines()[0][:300]
        )
        return JSON(
            {
                "success": False,
                "code": "store_unavailable",
                "message": "the database is unavailable; nothing was stored; retry shortly",
                "errors": [],
            },
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(RequestValidationError)
    async def request_error(_request: Request, exc: RequestValidationError) -> JSON:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]} for e in exc.errors()
        ]
        message = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
        return JSON(
            {"success": False, "code": "invalid_request", "message": message, "errors": errors},
            status_code=400,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSON:
        """The framework's own refusals (a body that is not JSON, a method not allowed, an
        unknown path) in the same shape as every other error."""
        codes = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed"}
        return JSON(
            {
                "success": False,
                "code": codes.get(exc.status_code, "http_error"),
                "message": str(exc.detail),
                "errors": [],
            },
            status_code=exc.status_code,
            headers=exc.headers,
        )

    return app
