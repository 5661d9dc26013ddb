"""Real-time personalization: content for one visitor within a latency budget.

A recent, ready message for the same customer and placement is served from the store. Else a
strategy is chosen (logged with its probability) and the content is written; if that takes
longer than the budget, the approved fallback content goes out at once and the writing
finishes in the background, so the next request is served the personal version.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import select

from monogram.cdp import context
from monogram.content import generate
from monogram.content.placements import GeneratedElement, LockedElement, get_placement
from monogram.content.prompts import render_locked
from monogram.core.clock import now
from monogram.core.errors import NotFound
from monogram.learning import decisions
from monogram.learning import store as learning
from monogram.learning.features import customer_features
from monogram.pipeline import personalize
from monogram.store.tables import decisions as decisions_table
from monogram.store.tables import messages
from monogram.workspace import Workspace

_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="monogram-realtime")
_inflight: dict[tuple[str, str], Future[Any]] = {}


def serve(
    ws: Workspace, customer: str, placement_name: str, *, inputs: dict[str, Any] | None = None
) -> dict[str, Any]:
    started = time.perf_counter()
    placement = get_placement(ws.placements(), placement_name)
    budget = ws.config.realtime.budget_ms / 1000
    with ws.store.read() as conn:
        try:
            profile_id = context.resolve(conn, customer)
        except NotFound:
            return _answer(
                _defaults(ws, placement), None, None, "fallback: unknown visitor", started
            )
        cached = _recent(conn, profile_id, placement.name, ws.config.realtime.cache_hours)
    if cached is not None:
        return _answer(cached["elements"], cached["id"], cached["decision_id"], "cache", started)
    with ws.store.write() as conn:
        decision = learning.choose(
            conn,
            ws.config,
            placement,
            customer_features(conn, ws.config, ws.segments(), placement, profile_id),
            profile_id=profile_id,
            key=(profile_id, placement.name, str(time.time_ns())),
            extra={"realtime": True},
        )
    chosen, decision_id = decision.strategy or placement.baseline(), decision.decision_id
    key = (profile_id, placement.name)
    future = _inflight.get(key)
    if future is None or future.done():
        future = _pool.submit(
            _write, ws, customer, placement.name, chosen, inputs or {}, decision_id
        )
        _inflight[key] = future
    try:
        draft = future.result(timeout=budget)
    except FutureTimeout:
        return _answer(
            _defaults(ws, placement),
            None,
            decision_id,
            "fallback: over the latency budget",
            started,
        )
    elements = {n: {"text": e.text, "source": e.source} for n, e in draft.elements.items()}
    return _answer(elements, draft.message_id, decision_id, "generated", started)


def _write(
    ws: Workspace,
    customer: str,
    placement: str,
    strategy: str,
    inputs: dict[str, Any],
    decision_id: str,
) -> Any:
    draft = personalize(ws, customer, placement, strategy=strategy, inputs=inputs)
    with ws.store.write() as conn:
        decisions.attach_message(conn, decision_id, draft.message_id or "")
    return draft


def _recent(conn: Any, profile_id: str, placement: str, hours: float) -> dict[str, Any] | None:
    since = now() - timedelta(hours=hours)
    row = conn.execute(
        select(messages.c.id, messages.c.elements)
        .where(
            messages.c.profile_id == profile_id,
            messages.c.placement == placement,
            messages.c.status == "ready",
            messages.c.created_at >= since,
        )
        .order_by(messages.c.created_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    decision_id = conn.execute(
        select(decisions_table.c.id).where(decisions_table.c.message_id == row.id)
    ).scalar()
    elements = {
        n: {"text": e["text"], "source": e["source"]} for n, e in orjson.loads(row.elements).items()
    }
    return {"id": row.id, "elements": elements, "decision_id": decision_id}


def _defaults(ws: Workspace, placement: Any) -> dict[str, dict[str, str]]:
    source = {"brand": ws.brand().name}
    out = {}
    for element in placement.elements:
        if isinstance(element, LockedElement):
            out[element.name] = {
                "text": render_locked(element.template, source, origin=element.name),
                "source": "locked",
            }
        elif isinstance(element, GeneratedElement):
            draft = generate.fallback(element, source, "default")
            out[element.name] = {"text": draft.text, "source": "fallback"}
    return out


def _answer(
    elements: dict[str, Any],
    message_id: str | None,
    decision_id: str | None,
    how: str,
    started: float,
) -> dict[str, Any]:
    return {
        "decision_id": decision_id,
        "message_id": message_id,
        "served": how,
        "elements": elements,
        "seconds": round(time.perf_counter() - started, 4),
    }
