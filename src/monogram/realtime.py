"""Real-time personalization: content for one visitor within a latency budget.

A recent, ready message for the same customer and placement is served from the store. Else the
step runs (``pipeline.personalize``: the strategy chosen and logged, the content written and
gated); if that takes longer than the budget, the approved fallback content goes out at once and
the step finishes in the background, so the next request is served the personal version. The
worker pool and the in-flight map belong to the workspace, not to this module.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from monogram.content import generate
from monogram.content.placements import (
    GeneratedElement,
    ImageElement,
    LockedElement,
    Placement,
    get_placement,
)
from monogram.content.prompts import render_locked
from monogram.core.errors import NotFound
from monogram.delivery import tracking
from monogram.delivery.compose import fill_unsubscribe
from monogram.pipeline import Outcome, Request, personalize, recent, studio
from monogram.quality import images
from monogram.workspace import Workspace


@dataclass
class Realtime:
    """The background writers of one workspace and the steps they are running."""

    pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(2, thread_name_prefix="monogram-realtime")
    )
    inflight: dict[tuple[str, str], Future[Outcome]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def serve(
    ws: Workspace, customer: str, placement_name: str, *, inputs: dict[str, Any] | None = None
) -> dict[str, Any]:
    started = time.perf_counter()
    placement = get_placement(ws.placements(), placement_name)
    budget = ws.config.realtime.budget_ms / 1000
    try:
        cached = recent(ws, customer, placement.name, ws.config.realtime.cache_hours)
    except NotFound:
        return _answer(_defaults(ws, placement), None, None, "fallback: unknown visitor", started)
    if cached is not None:
        return _answer(
            _elements(ws, cached), cached.message_id, cached.decision_id, "cache", started
        )
    state: Realtime = ws.runtime("realtime", Realtime)
    request = Request(
        customer=customer, placement=placement.name, inputs=inputs or {}, surface="realtime"
    )
    key = (customer, placement.name)
    with state.lock:
        future = state.inflight.get(key)
        if future is None or future.done():
            future = state.pool.submit(personalize, ws, request)
            state.inflight[key] = future
    try:
        outcome = future.result(timeout=budget)
    except FutureTimeout:
        return _answer(
            _defaults(ws, placement), None, None, "fallback: over the latency budget", started
        )
    elements = _elements(ws, outcome)
    written = any(e["source"] == "generated" for e in elements.values())
    how = "generated" if written else "approved copy: no element was generated for this customer"
    return _answer(elements, outcome.message_id, outcome.decision_id, how, started)


def _elements(ws: Workspace, outcome: Outcome) -> dict[str, dict[str, Any]]:
    """Each element's text and source, with a signed unsubscribe link where copy asks for one."""
    url = None
    if outcome.message_id and outcome.profile_id:
        url = tracking.links(
            ws.secret(),
            ws.settings.public_url,
            message_id=outcome.message_id,
            decision_id=outcome.decision_id or "",
            profile_id=outcome.profile_id,
        )["unsubscribe"]
    out: dict[str, dict[str, Any]] = {}
    for name, element in outcome.elements.items():
        out[name] = {"text": fill_unsubscribe(element.text, url), "source": element.source}
        if element.images:  # a creative: its signed URL per size; the text is its alt text
            out[name]["images"] = [
                {
                    "size": image["size"],
                    "url": tracking.image_url(ws.secret(), ws.settings.public_url, image["name"]),
                }
                for image in element.images
            ]
    return out


def _defaults(ws: Workspace, placement: Placement) -> dict[str, dict[str, Any]]:
    source = {"brand": ws.brand().name}
    out: dict[str, dict[str, Any]] = {}
    for element in placement.elements:
        if isinstance(element, LockedElement):
            out[element.name] = {
                "text": render_locked(element.template, source, origin=element.name),
                "source": "locked",
            }
        elif isinstance(element, GeneratedElement):
            draft = generate.fallback(element, source, "default")
            out[element.name] = {"text": draft.text, "source": "fallback"}
        elif isinstance(element, ImageElement):  # the approved creative (rendered once)
            draft = images.fallback(studio(ws), element, ws.brand(), source, "default")
            out[element.name] = {
                "text": draft.text,
                "source": "fallback",
                "images": [
                    {
                        "size": i["size"],
                        "url": tracking.image_url(ws.secret(), ws.settings.public_url, i["name"]),
                    }
                    for i in (draft.media or {}).get("images", [])
                ],
            }
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
