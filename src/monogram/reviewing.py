"""One review decision, as every surface makes it (CLI, HTTP API, console): an edit goes
through the quality gate first (a reviewer overrides a failed check only by saying why), a
rejection sends the element's approved default, and an edit can join the approved library."""

from __future__ import annotations

from typing import Any

from monogram.content.placements import get_placement
from monogram.pipeline import check_edit
from monogram.quality import review
from monogram.workspace import Workspace


def decide_review(
    ws: Workspace,
    review_id: int,
    action: str,
    reviewer: str,
    *,
    text: str | None = None,
    note: str | None = None,
    override: str | None = None,
    add_to_library: bool = False,
) -> dict[str, Any]:
    fallback = None
    if action == "edit" and text:
        check_edit(ws, review_id, text, override)
    if action == "reject":
        with ws.store.read() as conn:
            item = review.get_review(conn, review_id)
        spec = get_placement(ws.placements(), item["placement"])
        fallback = review.default_copy(spec, item["element"], ws.brand().name)
    result = review.decide(
        ws.store,
        review_id,
        action,
        reviewer,
        text=text,
        note=note,
        fallback_text=fallback,
        override=override if action == "edit" else None,
    )
    if add_to_library and action == "edit":
        result["library_variant"] = review.promote(ws.store, review_id)
    return result
