"""Identity matching in the console: the pairs of profiles that may be one person, with the
evidence, for a person to accept (merge, reversible) or reject (never suggested again)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from monogram.cdp import context, resolve
from monogram.core.errors import NotFound, ValidationError
from monogram.web.console.common import back, blocking, change_form, page, render, session_of
from monogram.web.console.common import workspace_of as ws_of
from monogram.workspace import Workspace

router = APIRouter()


def pairs(ws: Workspace) -> dict[str, list[dict[str, Any]]]:
    """Waiting suggestions (each side's current profile) and the latest decisions."""
    with ws.store.read() as conn:
        waiting = resolve.suggestions(conn, "suggested", 100)
        for item in waiting:
            for side in ("left", "right"):
                try:
                    item[side]["now"] = context.resolve(conn, item[side]["key"])
                except NotFound:
                    item[side]["now"] = None
        decided = [
            *resolve.suggestions(conn, "merged", 20),
            *resolve.suggestions(conn, "rejected", 20),
        ]
    return {"waiting": waiting, "decided": decided}


@router.get("/identity")
@page
async def identity_page(request: Request) -> Response:
    found = await blocking(pairs, ws_of(request))
    return render(request, "identity.html", session_of(request), active="identity", **found)


@router.post("/identity")
@page
async def identity_decide(request: Request) -> Response:
    form = await change_form(request)
    ws = ws_of(request)
    action = str(form.get("action") or "")
    if action not in ("accept", "reject"):
        raise ValidationError("action: accept or reject")
    try:
        pair_id = int(str(form.get("pair") or ""))
    except ValueError as exc:
        raise ValidationError("which pair? (its id is missing)") from exc
    session = session_of(request)
    by = f"console:{session.key_name or session.key_id}"
    note = str(form.get("note") or "")
    decided = await blocking(resolve.decide, ws.store, ws.config, pair_id, action, by, note)
    return back("/ui/identity", f"Pair {pair_id}: {decided['status']}")
