"""Console pages: segments (list, rule and members, edit with a size preview) and content (the
brand kit, placements, side-by-side previews with the gate's scores, regenerate)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.responses import Response

from monogram.cdp import segments
from monogram.content.placements import get_placement
from monogram.core.errors import ConfigError, FieldError, NotFound, ValidationError
from monogram.delivery import tracking
from monogram.pipeline import Request as StepRequest
from monogram.pipeline import personalize
from monogram.store.tables import identifiers
from monogram.web.console.cache import Counts
from monogram.web.console.common import (
    back,
    blocking,
    change_form,
    counts_of,
    page,
    render,
    session_of,
)
from monogram.web.console.common import workspace_of as ws_of
from monogram.web.console.people import segment_sample, segment_size
from monogram.web.preview import preview_customers
from monogram.workspace import Workspace

router = APIRouter()
MEMBERS_SHOWN = 50


# -- segments -------------------------------------------------------------------------------


def segment_rows(ws: Workspace, counts: Counts) -> list[dict[str, Any]]:
    rows = []
    for segment in ws.segments().values():
        size, at = segment_size(ws, counts, segment)
        rows.append(
            {
                "name": segment.name,
                "description": segment.description,
                "size": size,
                "counted_at": datetime.fromtimestamp(at, UTC) if at else None,
            }
        )
    return rows


@router.get("/segments")
@page
async def segment_list(request: Request) -> Response:
    ws = ws_of(request)
    rows = await blocking(segment_rows, ws, counts_of(request))
    return render(
        request,
        "segments.html",
        session_of(request),
        active="segments",
        counting=any(r["size"] is None for r in rows),
        rows=rows,
        problems=ws.problems.get("segments", []),
    )


def segment_detail(ws: Workspace, counts: Counts, name: str) -> dict[str, Any]:
    segment = segments.get_segment(ws.segments(), name)
    size, _at = segment_size(ws, counts, segment)
    ids = segment_sample(ws, counts, segment, MEMBERS_SHOWN) if size else []
    if ids is None:
        ids = []
        size = None  # the members are still being found: the page says so and looks again
    known: dict[str, list[dict[str, str]]] = {pid: [] for pid in ids}
    with ws.store.read() as conn:  # one query for every member shown
        for row in conn.execute(
            select(identifiers.c.profile_id, identifiers.c.type, identifiers.c.value)
            .where(identifiers.c.profile_id.in_(ids))
            .order_by(identifiers.c.type)
        ):
            known[row.profile_id].append({"type": row.type, "value": row.value})
    members = [{"profile_id": pid, "identifiers": known[pid][:3]} for pid in ids]
    rule = yaml.safe_dump(
        segment.model_dump(mode="json", exclude_defaults=True)["rule"], sort_keys=False
    )
    return {
        "segment": segment,
        "size": size,
        "members": members,
        "rule_yaml": rule,
        "counting": size is None,
    }


@router.get("/segments/{name}")
@page
async def segment_page(request: Request, name: str) -> Response:
    ws = ws_of(request)
    data = await blocking(segment_detail, ws, counts_of(request), name)
    return render(request, "segment.html", session_of(request), active="segments", **data)


def _parsed(name: str, description: str, rule_text: str) -> segments.Segment:
    """The edited segment, or a ValidationError naming what is wrong (shown on the page)."""
    try:
        rule = yaml.safe_load(rule_text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "rule"
        raise ValidationError(
            "the rule is not valid YAML:", [FieldError(where, str(getattr(exc, "problem", exc)))]
        ) from exc
    try:
        return segments.parse_segments(
            {"name": name, "description": description, "rule": rule}, "rule"
        )[0]
    except ConfigError as exc:
        where, _, reason = exc.message.removeprefix("rule: ").partition(": ")
        raise ValidationError(
            "the rule is not valid:", [FieldError(where.removeprefix("0."), reason)]
        ) from exc


def _file_of(ws: Workspace, name: str) -> Path:
    for path in sorted(ws.segments_dir.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        items = data if isinstance(data, list) else [data]
        if any(isinstance(item, dict) and item.get("name") == name for item in items):
            return path
    raise NotFound(f"no file in {ws.segments_dir} defines segment {name!r}")


def save_segment(ws: Workspace, edited: segments.Segment) -> None:
    """Write the edited segment back into the file that defines it (the file is rewritten:
    its comments are not kept)."""
    path = _file_of(ws, edited.name)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = data if isinstance(data, list) else [data]
    body = edited.model_dump(mode="json", exclude_defaults=True)
    body.setdefault("description", edited.description)
    updated = [body if item.get("name") == edited.name else item for item in items]
    text = yaml.safe_dump(updated if isinstance(data, list) else updated[0], sort_keys=False)
    temporary = path.with_name(f".{path.name}.saving")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


@router.post("/segments/{name}")
@page
async def segment_edit(request: Request, name: str) -> Response:
    """Check the edited rule and show its size (``preview``), or save it (``save``)."""
    form = await change_form(request)
    ws = ws_of(request)
    rule_text = str(form.get("rule") or "")
    description = str(form.get("description") or "")
    data = await blocking(segment_detail, ws, counts_of(request), name)
    try:
        edited = _parsed(name, description, rule_text)
    except ValidationError as exc:
        return render(
            request,
            "segment.html",
            session_of(request),
            active="segments",
            status_code=400,
            **{**data, "rule_yaml": rule_text, "counting": False},
            failure=exc,
        )
    if form.get("action") == "save":
        await blocking(save_segment, ws, edited)
        return back(f"/ui/segments/{name}", f"Segment {name} saved")

    def size() -> int:
        with ws.store.read() as conn:
            return segments.count_members(conn, edited, ws.config)

    preview = await blocking(size)
    return render(
        request,
        "segment.html",
        session_of(request),
        active="segments",
        **{**data, "rule_yaml": rule_text, "counting": False},
        preview_size=preview,
    )


# -- content --------------------------------------------------------------------------------


@router.get("/content")
@page
async def content(request: Request) -> Response:
    ws = ws_of(request)
    return render(
        request,
        "content.html",
        session_of(request),
        active="content",
        brand=ws.brand(),
        placements=ws.placements(),
    )


SAMPLE_MESSAGE = "Hi, my last order has not arrived yet. Can you help?"


def preview_drafts(
    ws: Workspace, placement: str, refs: list[str], strategy: str | None, variation: int = 0
) -> list[dict[str, Any]]:
    """Each customer's draft as the step writes it, recorded nowhere."""
    spec = get_placement(ws.placements(), placement)
    if strategy is not None:
        spec.strategy(strategy)  # an unknown strategy is refused before anything runs
    inputs = {"message": SAMPLE_MESSAGE} if "message" in spec.inputs else {}
    out = []
    for ref in refs:
        outcome = personalize(
            ws,
            StepRequest(
                customer=ref,
                placement=placement,
                strategy=strategy or spec.strategy(None).name,
                inputs=inputs,
                record=False,
                surface="console",
                variation=variation,
            ),
        )
        draft = outcome.draft
        assert draft is not None  # a preview is never held out
        out.append({"customer": ref, "draft": draft})
    return out


def _preview_page(
    request: Request,
    placement: str,
    refs: list[str],
    strategy: str | None,
    variation: int = 0,
) -> Response:
    spec = get_placement(ws_of(request).placements(), placement)
    return render(
        request,
        "preview.html",
        session_of(request),
        active="content",
        spec=spec,
        strategy=strategy or spec.strategy(None).name,
        strategies=[s.name for s in spec.strategies],
        drafts=preview_drafts(ws_of(request), placement, refs, strategy, variation),
        customers=",".join(refs),
        variation=variation,
        image_url=lambda name: tracking.image_url(ws_of(request).secret(), "", name),
    )


@router.get("/content/{placement}")
@page
async def placement_preview(request: Request, placement: str) -> Response:
    ws = ws_of(request)
    spec = get_placement(ws.placements(), placement)
    strategy = request.query_params.get("strategy") or None
    asked = [c.strip() for c in request.query_params.get("customers", "").split(",") if c.strip()]
    sample = int(request.query_params.get("sample") or 3)
    refs = asked or await blocking(preview_customers, ws, spec, max(1, min(sample, 6)))
    shown: Response = await blocking(_preview_page, request, placement, refs, strategy)
    return shown


@router.post("/content/{placement}/regenerate")
@page
async def regenerate(request: Request, placement: str) -> Response:
    """One customer's draft written again with another sampling (recorded nowhere)."""
    form = await change_form(request)
    customer = str(form.get("customer") or "")
    strategy = str(form.get("strategy") or "") or None
    try:
        variation = int(str(form.get("variation") or "1"))
    except ValueError as exc:
        raise ValidationError("variation: a whole number") from exc
    shown: Response = await blocking(
        _preview_page, request, placement, [customer], strategy, variation
    )
    return shown
