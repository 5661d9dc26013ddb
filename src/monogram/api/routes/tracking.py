"""Segment-compatible tracking endpoints: identify, track, page, screen, group, alias, batch.

Wire-compatible with Segment's HTTP Tracking API: the same paths, bodies and ``{"success":
true}`` answers, write key as the Basic-auth user name (or ``writeKey`` in the body), gzip
bodies accepted. A bad single event is a 400 naming the field; in a batch, good events are kept
and bad ones reported (and quarantined).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from monogram.api.deps import (
    QuarantineBudget,
    check_header_key,
    check_key,
    get_workspace,
    json_body,
)
from monogram.api.responses import JSON
from monogram.api.schemas import BatchAnswer, Success, ok
from monogram.cdp import unify
from monogram.cdp.events import MAX_BATCH_BYTES, MAX_EVENT_BYTES
from monogram.core.errors import FieldError, PayloadTooLarge, ValidationError

router = APIRouter(prefix="/v1", tags=["tracking"])
BATCH_DEFAULTS = ("context", "integrations", "sentAt")
# Rejected events kept in quarantine (and listed in the answer) per request, and per key an
# hour (api.quarantine_per_hour); the rest are counted.
QUARANTINE_PER_REQUEST = 100


def _body_key(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("writeKey"), str):
        return str(body["writeKey"])
    return None


async def _single(request: Request, kind: str) -> JSON:
    key = await check_header_key(request, "write")  # before reading a byte of the body
    body = await json_body(request, MAX_EVENT_BYTES)
    if key is None:
        key = await check_key(request, "write", _body_key(body))
    workspace = get_workspace(request)
    if isinstance(body, dict) and "type" not in body:
        body = {**body, "type": kind}
    if isinstance(body, dict) and body.get("type") != kind:
        raise ValidationError(
            "invalid event:",
            [FieldError("type", f"is {body.get('type')!r} but this endpoint takes {kind!r}")],
        )
    report = await run_in_threadpool(
        unify.ingest_batch, workspace.store, workspace.config, [body], source="api"
    )
    if report.rejected:
        errors = report.rejected[0].errors
        raise ValidationError("invalid event:", errors)
    return JSON({"success": True})


def _endpoint(kind: str) -> Any:
    async def handler(request: Request) -> JSON:
        return await _single(request, kind)

    handler.__name__ = kind
    handler.__doc__ = f"Segment `{kind}` call."
    return handler


for _kind in ("identify", "track", "page", "screen", "group", "alias"):
    router.add_api_route(
        f"/{_kind}", _endpoint(_kind), methods=["POST"], name=_kind, responses=ok(Success)
    )


async def _batch(request: Request) -> JSON:
    """Segment `batch` call: up to 500 KB, 32 KB per event."""
    key = await check_header_key(request, "write")  # before reading a byte of the body
    body = await json_body(request, MAX_BATCH_BYTES)
    if key is None:
        key = await check_key(request, "write", _body_key(body))
    budget: QuarantineBudget = request.app.state.quarantine
    workspace = get_workspace(request)
    per_hour = workspace.config.api.quarantine_per_hour
    allowed = max(0, min(QUARANTINE_PER_REQUEST, budget.remaining(key.id, per_hour)))
    if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
        raise ValidationError("invalid batch:", [FieldError("batch", "must be a list of events")])
    items = [_with_defaults(item, body) for item in body["batch"]]
    report = await run_in_threadpool(
        unify.ingest_batch,
        workspace.store,
        workspace.config,
        items,
        source="api",
        prefix="batch.",
        quarantine_limit=allowed,
    )
    budget.spend(key.id, min(len(report.rejected), allowed))
    if report.rejected and not report.accepted and not report.duplicates:
        too_big = any(e.reason == "larger than 32 KB" for r in report.rejected for e in r.errors)
        error_cls = PayloadTooLarge if too_big and len(items) == 1 else ValidationError
        raise error_cls(
            "no event in the batch was accepted:",
            [e for r in report.rejected for e in r.errors][:50],
        )
    return JSON(
        {
            "success": True,
            "accepted": report.accepted,
            "duplicates": report.duplicates,
            "rejected": [r.as_dict() for r in report.rejected[:QUARANTINE_PER_REQUEST]],
            "rejected_count": len(report.rejected),
            "quarantine_dropped": report.quarantine_dropped,
        }
    )


def _with_defaults(item: Any, body: dict[str, Any]) -> Any:
    # Segment applies the batch's context, integrations and sentAt to events that lack them.
    if not isinstance(item, dict):
        return item
    out = dict(item)
    for key in BATCH_DEFAULTS:
        if key in body and key not in out:
            out[key] = body[key]
    if isinstance(body.get("context"), dict) and isinstance(item.get("context"), dict):
        out["context"] = {**body["context"], **item["context"]}
    return out


router.add_api_route("/batch", _batch, methods=["POST"], name="batch", responses=ok(BatchAnswer))
router.add_api_route("/import", _batch, methods=["POST"], name="import", responses=ok(BatchAnswer))
