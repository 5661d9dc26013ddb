"""Outcomes joined back to decisions: opens, clicks and unsubscribes carry the decision id;
a conversion is an ``Order Completed`` arriving within the attribution window after a click on
that decision's message; a reply (``Email Replied``, ``Support Follow-up``) carries the decision
id, its sentiment and, for a support follow-up, whether the matter is resolved.

Only signals the server itself recorded count: events from the signed tracking links (source
``tracking``), replies recorded through a server-side key (source ``inbound``) or events from a
rehearsal on a copy of the workspace. A ``decision_id`` that a write key
puts in any event's properties proves nothing and is ignored: anyone with the key could
otherwise turn a decision into a reward.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, select

from monogram.store.tables import decisions, events

VERIFIED_SOURCES = ("tracking", "inbound", "rehearsal")
ENGAGEMENT = {
    "Email Opened": "opened",
    "Email Link Clicked": "clicked",
    "Unsubscribed": "unsubscribed",
}
REPLIES = ("Email Replied", "Support Follow-up")


def outcomes(
    conn: Connection, decision: Any, window: timedelta, *, within_window: bool = False
) -> set[str]:
    """What followed one decision: opened, clicked, unsubscribed, converted. With
    ``within_window`` only what happened within ``window`` of the decision counts (rewards:
    an outcome after the window never changes a reward, however late the update runs)."""
    query = select(events.c.name, events.c.ts, events.c.payload, events.c.source).where(
        events.c.profile_id == decision.profile_id,
        events.c.ts >= decision.created_at,
        events.c.type == "track",
    )
    if within_window:
        query = query.where(events.c.ts <= decision.created_at + window)
    return _followed(conn.execute(query.order_by(events.c.ts)), decision, window)


def outcomes_many(
    conn: Connection, made: list[Any], window: timedelta
) -> dict[str, tuple[set[str], float]]:
    """``outcomes`` for many decisions, and each one's order value within the window, in one
    query per thousand customers (a campaign's results page, uplift)."""
    if not made:
        return {}
    since = min(d.created_at for d in made)
    rows: dict[str, list[Any]] = defaultdict(list)
    people = sorted({d.profile_id for d in made})
    for start in range(0, len(people), 1000):
        chunk = people[start : start + 1000]
        query = select(
            events.c.profile_id, events.c.name, events.c.ts, events.c.payload, events.c.source
        ).where(
            events.c.profile_id.in_(chunk),
            events.c.ts >= since,
            events.c.type == "track",
            events.c.name.in_([*ENGAGEMENT, *REPLIES, "Order Completed"]),
        )
        for row in conn.execute(query.order_by(events.c.ts)):
            rows[row.profile_id].append(row[1:])
    out = {}
    for decision in made:
        after = [r for r in rows.get(decision.profile_id, []) if r[1] >= decision.created_at]
        value = sum(
            _order_total(r[2])
            for r in after
            if r[0] == "Order Completed" and r[1] <= decision.created_at + window
        )
        out[decision.id] = (_followed(after, decision, window), value)
    return out


def _followed(rows: Any, decision: Any, window: timedelta) -> set[str]:
    found: set[str] = set()
    clicks: list[datetime] = []
    for name, ts, payload, source in rows:
        props = orjson.loads(payload).get("properties") or {}
        mine = source in VERIFIED_SOURCES and props.get("decision_id") == decision.id
        if name in ENGAGEMENT and mine:
            found.add(ENGAGEMENT[name])
            if name == "Email Link Clicked":
                clicks.append(ts)
        elif name in REPLIES and mine:
            found.update(_reply_outcomes(props))
        elif name == "Order Completed":
            if mine or any(ts - click <= window for click in clicks if ts >= click):
                found.add("converted")
            elif decision.holdout and ts - decision.created_at <= window:
                found.add("converted")  # held-out customers convert on their own: the baseline
    return found


def _reply_outcomes(props: dict[str, Any]) -> set[str]:
    found = {"replied"} if props.get("text") else set()
    label = props.get("sentiment_label")
    if label in ("positive", "negative"):
        found.add(f"{label}_reply")
    if props.get("resolved") is True:
        found.add("resolved")
    elif props.get("resolved") is False:
        found.add("unresolved")
    return found


def _order_total(payload: str) -> float:
    props = orjson.loads(payload).get("properties") or {}
    for name in ("revenue", "total", "value"):
        if isinstance(props.get(name), int | float):
            return float(props[name])
    return 0.0


def campaign_outcomes(conn: Connection, campaign: str, window_hours: float = 72) -> dict[str, Any]:
    window = timedelta(hours=window_hours)
    treated: Counter[str] = Counter()
    held: Counter[str] = Counter()
    made = list(conn.execute(select(decisions).where(decisions.c.campaign == campaign)))
    followed = outcomes_many(conn, made, window)
    for decision in made:
        bucket = held if decision.holdout else treated
        bucket["decisions"] += 1
        bucket.update(followed[decision.id][0])
    return {
        "treated": dict(treated),
        "holdout": dict(held),
        "attribution_window_hours": window_hours,
    }
