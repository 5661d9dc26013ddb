"""Tracking endpoints: the open pixel, click redirects and one-click unsubscribe.

No API key: the signed token is the credential. A click only ever redirects to the URL signed
into its token, so the endpoint cannot be used as an open redirect.
"""

from __future__ import annotations

import base64
import hashlib
import time

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from monogram.api.deps import WorkspaceDep
from monogram.api.responses import PAGE_ANSWER
from monogram.cdp import privacy
from monogram.delivery import tracking

PIXEL_ANSWER: dict[int | str, dict[str, object]] = {
    200: {
        "description": "a 1x1 GIF",
        "content": {"image/gif": {"schema": {"type": "string", "format": "binary"}}},
    }
}
REDIRECT_ANSWER: dict[int | str, dict[str, object]] = {
    302: {"description": "to the link's target (signed into the token)"}
}

router = APIRouter(prefix="/t", tags=["tracking links"], include_in_schema=True)
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _event_id(token: str, kind: str, per_seconds: int = 60) -> str:
    # Repeated hits within a minute (prefetchers, double clicks) count once.
    window = int(time.time() // per_seconds)
    return f"{kind}-" + hashlib.sha256(f"{token}|{window}".encode()).hexdigest()[:24]


async def _record(workspace: WorkspaceDep, token: str, kind: str, event: str) -> dict[str, object]:
    payload = tracking.read_token(workspace.secret(), token)
    if payload.get("k") != kind:
        from monogram.core.errors import AuthError

        raise AuthError("invalid tracking link")
    properties = {"decision_id": payload["d"], "message_id": payload["m"], "channel": "email"}
    if kind == "click":
        properties["url"] = payload["u"]
    await run_in_threadpool(
        privacy.track_for_profile,
        workspace.store,
        workspace.config,
        payload["p"],
        event,
        properties,
        _event_id(token, kind),
    )
    return payload


@router.get("/o/{token}", response_class=Response, responses=PIXEL_ANSWER)
async def opened(token: str, workspace: WorkspaceDep) -> Response:
    await _record(workspace, token, "open", "Email Opened")
    return Response(PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store"})


@router.get(
    "/c/{token}", response_class=RedirectResponse, status_code=302, responses=REDIRECT_ANSWER
)
async def clicked(token: str, workspace: WorkspaceDep) -> Response:
    payload = await _record(workspace, token, "click", "Email Link Clicked")
    return RedirectResponse(str(payload["u"]), status_code=302)


@router.get("/u/{token}", response_class=Response, responses=PAGE_ANSWER)
async def unsubscribe_page(token: str, workspace: WorkspaceDep) -> Response:
    """A confirmation form; nothing changes until it is posted."""
    tracking.read_token(workspace.secret(), token)
    return HTMLResponse(
        '<form method="post"><p>Stop marketing email from us?</p>'
        '<button type="submit">Unsubscribe</button></form>'
    )


@router.post("/u/{token}", response_class=Response, responses=PAGE_ANSWER)
async def unsubscribe(token: str, workspace: WorkspaceDep) -> Response:
    """Unsubscribe at once (RFC 8058 one-click, or the form)."""
    tracking.read_token(workspace.secret(), token)
    await _record(workspace, token, "unsubscribe", "Unsubscribed")
    return HTMLResponse("<p>You are unsubscribed. It takes effect at once.</p>")
