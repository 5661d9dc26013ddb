"""Outcomes joined back to decisions: opens, clicks and unsubscribes carry the decision id;
a conversion is an ``Order Completed`` arriving within the attribution window after a click on
that decision's message.

Only signals the server itself recorded count: events from the signed tracking links (source
``tracking``) or from a rehearsal on a copy of the workspace. A ``decision_id`` that a write key
puts in any event's properties proves nothing and is ignored: anyone with the key could
otherwise turn a decision into a reward.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, select

from monogram.store.tables import decisions, events

VERIFIED_SOURCES = ("tracking", "rehearsal")
ENGAGEMENT = {
    "Email Opened": "opened",
    "Email Link Clicked": "clicked",
    "Unsubscribed": "unsubscribed",
}


def outcomes(
    conn: Connection, decision: Any, window: timedelta, *, within_window: bool = False
) -> set[str]:
    """What followed one decision: opened, clicked, unsubscribed, converted. With
    ``within_window`` only what happened within ``window`` of the decision counts (rewards:
    an outcome after the window never changes a reward, however late the update runs)."""
    found: set[str] = set()
    clicks: list[datetime] = []
    query = select(events.c.name, events.c.ts, events.c.payload, events.c.source).where(
        events.c.profile_id == decision.profile_id,
        events.c.ts >= decision.created_at,
        events.c.type == "track",
    )
    if within_window:
        query = query.where(events.c.ts <= decision.created_at + window)
    rows = conn.execute(query.order_by(events.c.ts))
    for name, ts, payload, source in rows:
        props = orjson.loads(payload).get("properties") or {}
        mine = source in VERIFIED_SOURCES and props.get("decision_id") == decision.id
        if name in ENGAGEMENT and mine:
            found.add(ENGAGEMENT[name])
            if name == "Email Link Clicked":
                clicks.append(ts)
        elif name == "Order Completed":
            if mine or any(ts - click <= window for click in clicks if ts >= click):
                found.add("converted")
            elif decision.holdout and ts - decision.created_at <= window:
                found.add("converted")  # held-out customers convert on their own: the baseline
    return found


def order_value(conn: Connection, decision: Any, window: timedelta) -> float:
    """What the customer's orders within ``window`` after a decision came to (``revenue``,
    ``total`` or ``value`` of each ``Order Completed``): a converted decision's revenue."""
    total = 0.0
    for (payload,) in conn.execute(
        select(events.c.payload).where(
            events.c.profile_id == decision.profile_id,
            events.c.name == "Order Completed",
            events.c.ts >= decision.created_at,
            events.c.ts <= decision.created_at + window,
        )
    ):
        props = orjson.loads(payload).get("properties") or {}
        for name in ("revenue", "total", "value"):
            if isinstance(props.get(name), int | float):
                total += float(props[name])
                break
    return total


def campaign_outcomes(conn: Connection, campaign: str, window_hours: float = 72) -> dict[str, Any]:
    window = timedelta(hours=window_hours)
    treated: Counter[str] = Counter()
    held: Counter[str] = Counter()
    for decision in conn.execute(select(decisions).where(decisions.c.campaign == campaign)):
        bucket = held if decision.holdout else treated
        bucket["decisions"] += 1
        bucket.update(outcomes(conn, decision, window))
    return {
        "treated": dict(treated),
        "holdout": dict(held),
        "attribution_window_hours": window_hours,
    }
