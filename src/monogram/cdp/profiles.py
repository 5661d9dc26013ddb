"""Unified profiles: events folded into traits, computed traits, consent and zero-party data.

A profile's stored *state* is a fold of its events that does not depend on their order: traits,
consent and stated preferences keep the value with the latest ``(timestamp, messageId)``;
counters add up; orders are keyed by order id (a repeated ``Order Completed`` counts once);
category and brand affinity are weights per 28-day period. Merging two states is the same operation,
so incremental ingestion, merges and a rebuild from the log all give the same profile.

What depends on the clock (days since the last order, lifecycle stage, RFM recency, the decay
in favourite categories) is computed when the profile is read, by ``summarize``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, select

from monogram.core.clock import iso, now, parse_timestamp
from monogram.core.settings import ProjectConfig
from monogram.store.engine import bulk_insert, bulk_update
from monogram.store.tables import profiles

State = dict[str, Any]
EPOCH = datetime(2000, 1, 3, tzinfo=UTC)  # affinity periods are counted from here
PERIOD_DAYS = 28  # affinity is kept per period: fine enough for recency, small to store
CONSENT_EVENTS = {"Consent Updated", "Consent Changed"}
PREFERENCE_EVENTS = {"Preferences Updated", "Preference Center Updated", "Preferences Saved"}
RESERVED_TRAITS = {"consent", "preferences"}
CHANNEL_PREFIXES = {"Email ": "email", "SMS ": "sms", "Push Notification ": "push"}
ENGAGEMENT_ACTIONS = {
    "Delivered": "delivered",
    "Sent": "delivered",
    "Opened": "opened",
    "Link Clicked": "clicked",
    "Clicked": "clicked",
    "Bounced": "bounced",
}


def empty_state() -> State:
    return {
        "traits": {},
        "consent": {},
        "zero_party": {},
        "orders": {},
        "counts": {},
        "affinity": {"category": {}, "brand": {}},
        "engagement": {},
        "hours": {},
        "first_seen": None,
        "last_seen": None,
    }


def _stamp(event: Any) -> str:
    return f"{event.payload['timestamp']}|{event.message_id}"


def fold(state: State, event: Any, config: ProjectConfig) -> None:
    """Fold one event into a state, in place."""
    when = event.payload["timestamp"]  # iso(event.timestamp), computed once on validation
    stamp = f"{when}|{event.message_id}"
    if state["first_seen"] is None or when < state["first_seen"]:
        state["first_seen"] = when
    if state["last_seen"] is None or when > state["last_seen"]:
        state["last_seen"] = when
    label = event.name if event.type == "track" else event.type
    counts = state["counts"]
    counts[label] = counts.get(label, 0) + 1
    if event.type == "identify":
        _fold_traits(state, event.traits, stamp)
    elif event.type == "group":
        groups = state["traits"].get("groups", [[], "", ""])[0]
        _set_latest(state["traits"], "groups", sorted({*groups, event.payload["groupId"]}), stamp)
    elif event.type == "track":
        _fold_track(state, event, stamp, config)
    elif event.type == "page":
        _count_engagement(state, "web", "viewed")
    consent = event.context.get("consent")
    if isinstance(consent, dict) and isinstance(consent.get("categoryPreferences"), dict):
        for purpose, granted in consent["categoryPreferences"].items():
            _set_consent(state, str(purpose).lower(), granted, stamp, "context.consent")


def _fold_traits(state: State, traits: dict[str, Any], stamp: str) -> None:
    for key, value in traits.items():
        if key == "consent" and isinstance(value, dict):
            for purpose, granted in value.items():
                _set_consent(state, str(purpose), granted, stamp, "identify")
        elif key == "preferences" and isinstance(value, dict):
            for name, stated in value.items():
                _set_latest(state["zero_party"], str(name), stated, stamp)
        elif key not in RESERVED_TRAITS:
            _set_latest(state["traits"], key, value, stamp)


def _set_latest(bucket: dict[str, Any], key: str, value: Any, stamp: str) -> None:
    current = bucket.get(key)
    if current is None or stamp > current[1]:
        bucket[key] = [value, stamp]


def _set_consent(state: State, purpose: str, granted: Any, stamp: str, source: str) -> None:
    if not isinstance(granted, bool):
        return
    current = state["consent"].get(purpose)
    if current is None or stamp > current[1]:
        state["consent"][purpose] = [granted, stamp, source]


def _fold_track(state: State, event: Any, stamp: str, config: ProjectConfig) -> None:
    name, props = event.name, event.properties
    if name == "Order Completed":
        _fold_order(state, event, stamp, config)
    elif name == "Order Refunded":
        order_id = str(props.get("order_id") or props.get("orderId") or "")
        refunds = state.setdefault("refunds", {})
        if order_id:
            refunds[order_id] = True
    elif name in CONSENT_EVENTS:
        _fold_consent_event(state, props, stamp)
    elif name in PREFERENCE_EVENTS:
        for key, value in props.items():
            _set_latest(state["zero_party"], key, value, stamp)
    elif name == "Unsubscribed":
        channel = str(props.get("channel") or "email").lower()
        purpose = "sms_marketing" if channel == "sms" else "email_marketing"
        _set_consent(state, purpose, False, stamp, "Unsubscribed")
    weight = config.affinity.weights.get(name)
    if weight and name != "Order Completed":
        _add_affinity(state, props, event.timestamp, weight)
    for prefix, channel in CHANNEL_PREFIXES.items():
        if name.startswith(prefix):
            action = ENGAGEMENT_ACTIONS.get(name[len(prefix) :])
            if action:
                _count_engagement(state, channel, action)
                if action in ("opened", "clicked"):
                    hour = str(event.timestamp.hour)
                    state["hours"][hour] = state["hours"].get(hour, 0) + 1


def _fold_consent_event(state: State, props: dict[str, Any], stamp: str) -> None:
    given = props.get("source")
    source: str = given if isinstance(given, str) else "Consent Updated"
    if isinstance(props.get("purpose"), str):
        _set_consent(state, props["purpose"], props.get("granted"), stamp, source[:64])
    for bucket in ("consent", "consents"):
        if isinstance(props.get(bucket), dict):
            for purpose, granted in props[bucket].items():
                _set_consent(state, str(purpose), granted, stamp, source[:64])


def _fold_order(state: State, event: Any, stamp: str, config: ProjectConfig) -> None:
    props = event.properties
    order_id = str(props.get("order_id") or props.get("orderId") or event.message_id)
    items = props.get("products") if isinstance(props.get("products"), list) else []
    items = [i for i in items if isinstance(i, dict)]
    revenue = _number(props.get("revenue"), props.get("total"), props.get("value"))
    if revenue is None:
        revenue = sum(
            (_number(i.get("price")) or 0.0) * (_number(i.get("quantity")) or 1.0) for i in items
        )
    entry = [
        round(revenue, 2),
        stamp,
        sorted({str(i.get("product_id") or i.get("sku") or "") for i in items} - {""}),
    ]
    current = state["orders"].get(order_id)
    if current is None or stamp < current[1]:
        # The first report of an order wins; later copies (retries, resends) change nothing.
        state["orders"][order_id] = entry
    weight = config.affinity.weights.get("Order Completed", 5)
    for item in items:
        _add_affinity(state, item, event.timestamp, weight)


def _number(*values: Any) -> float | None:
    for value in values:
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float) and math.isfinite(value):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                continue
    return None


def _add_affinity(state: State, props: dict[str, Any], when: datetime, weight: int) -> None:
    period = str((when - EPOCH).days // PERIOD_DAYS)
    for kind in ("category", "brand"):
        value = props.get(kind)
        if isinstance(value, str) and value.strip():
            periods = state["affinity"][kind].setdefault(value.strip().lower(), {})
            periods[period] = periods.get(period, 0) + weight


def _count_engagement(state: State, channel: str, action: str) -> None:
    bucket = state["engagement"].setdefault(channel, {})
    bucket[action] = bucket.get(action, 0) + 1


def merge_states(a: State, b: State) -> State:
    """Combine two profiles' states (a merge); the result does not depend on argument order."""
    out = empty_state()
    for side in (a, b):
        for key, entry in side["traits"].items():
            _set_latest(out["traits"], key, entry[0], entry[1])
        for key, entry in side["zero_party"].items():
            _set_latest(out["zero_party"], key, entry[0], entry[1])
        for purpose, entry in side["consent"].items():
            _set_consent(out, purpose, entry[0], entry[1], entry[2])
        for order_id, entry in side["orders"].items():
            current = out["orders"].get(order_id)
            if current is None or entry[1] < current[1]:
                out["orders"][order_id] = entry
        for order_id in side.get("refunds", {}):
            out.setdefault("refunds", {})[order_id] = True
        _add_counts(out["counts"], side["counts"])
        _add_counts(out["hours"], side["hours"])
        for channel, actions in side["engagement"].items():
            _add_counts(out["engagement"].setdefault(channel, {}), actions)
        for kind, values in side["affinity"].items():
            for value, periods in values.items():
                _add_counts(out["affinity"][kind].setdefault(value, {}), periods)
        if (side.get("watermark") or "") > (out.get("watermark") or ""):
            out["watermark"] = side["watermark"]
        if side.get("conflicted"):
            out["conflicted"] = True
        for bound, pick in (("first_seen", min), ("last_seen", max)):
            if side[bound] is not None:
                out[bound] = side[bound] if out[bound] is None else pick(out[bound], side[bound])
    return out


def _add_counts(into: dict[str, int], more: dict[str, int]) -> None:
    for key, count in more.items():
        into[key] = into.get(key, 0) + count


# ---------------------------------------------------------------------------------------------
# Reading a state: computed traits that depend on the clock


@dataclass(frozen=True)
class Orders:
    count: int
    value: float
    first: datetime | None
    last: datetime | None
    product_ids: list[str]


def live_orders(state: State) -> Orders:
    refunds = state.get("refunds", {})
    kept = [(oid, e) for oid, e in sorted(state["orders"].items()) if oid not in refunds]
    # Stamps share one ISO format, so text order is time order: parse only the ends.
    stamps = [e[1].split("|", 1)[0] for _, e in kept]
    first = parse_timestamp(min(stamps)) if stamps else None
    last = parse_timestamp(max(stamps)) if stamps else None
    value = round(math.fsum(e[0] for _, e in kept), 2)
    products = sorted({p for _, e in kept for p in e[2]})
    return Orders(len(kept), value, first, last, products)


def ranked_affinity(state: State, kind: str, half_life_days: float) -> list[tuple[str, float]]:
    """Values of one kind (category, brand) by recency-weighted score, best first."""
    factors = _period_factors(half_life_days)
    scores = []
    for value, periods in state["affinity"].get(kind, {}).items():
        # Exponential decay keeps the ranking the same whatever "now" is, so the stored
        # ranking (the facets column) agrees with the one computed at read time. fsum is
        # exactly rounded, so the score does not depend on the order of the periods either.
        score = math.fsum([w * (factors.get(p) or _factor(factors, p)) for p, w in periods.items()])
        scores.append((value, score))
    scores.sort(key=lambda item: (-item[1], item[0]))
    if not scores:
        return []
    top = scores[0][1]
    return [(value, round(score / top, 4)) for value, score in scores]


_factor_tables: dict[float, dict[str, float]] = {}


def _period_factors(half_life_days: float) -> dict[str, float]:
    table = _factor_tables.get(half_life_days)
    if table is None:
        table = _factor_tables[half_life_days] = {"_half_life": half_life_days / PERIOD_DAYS}
    return table


def _factor(table: dict[str, float], period: str) -> float:
    value: float = 2.0 ** (int(period) / table["_half_life"])
    table[period] = value
    return value


def lifecycle_stage(orders: Orders, config: ProjectConfig, at: datetime) -> str:
    life = config.lifecycle
    if orders.count == 0 or orders.last is None or orders.first is None:
        return "prospect"
    since_last = (at - orders.last).days
    if (at - orders.first).days <= life.new_days and orders.count == 1:
        return "new"
    if since_last <= life.active_days:
        return "active"
    if since_last <= life.at_risk_days:
        return "at_risk"
    if since_last <= life.lapsed_days:
        return "lapsed"
    return "churned"


def _score(value: float, breakpoints: list[float], *, lower_is_better: bool = False) -> int:
    passed = sum(1 for b in breakpoints if (value > b if lower_is_better else value >= b))
    return 5 - passed if lower_is_better else 1 + passed


def rfm(orders: Orders, config: ProjectConfig, at: datetime) -> dict[str, Any] | None:
    if orders.count == 0 or orders.last is None:
        return None
    days = (at - orders.last).days
    r = _score(days, [float(b) for b in config.rfm.recency_days], lower_is_better=True)
    f = _score(orders.count, [float(b) for b in config.rfm.frequency_orders])
    m = _score(orders.value, config.rfm.monetary)
    return {
        "recency": r,
        "frequency": f,
        "monetary": m,
        "score": f"{r}{f}{m}",
        "label": _rfm_label(r, f),
    }


def _rfm_label(r: int, f: int) -> str:
    if r >= 4 and f >= 4:
        return "champion"
    if r >= 3 and f >= 3:
        return "loyal"
    if r >= 4:
        return "recent"
    if r <= 2 and f >= 3:
        return "cannot_lose"
    if r <= 2:
        return "hibernating"
    return "needs_attention"


def summarize(state: State, config: ProjectConfig, at: datetime | None = None) -> dict[str, Any]:
    """Computed traits of one profile as of ``at`` (default: now)."""
    at = at or now()
    orders = live_orders(state)
    email = state["engagement"].get("email", {})
    delivered = email.get("delivered", 0)
    half_life = config.affinity.half_life_days
    last_seen = parse_timestamp(state["last_seen"]) if state["last_seen"] else None
    return {
        "order_count": orders.count,
        "lifetime_value": orders.value,
        "average_order_value": round(orders.value / orders.count, 2) if orders.count else 0.0,
        "first_order_at": iso(orders.first) if orders.first else None,
        "last_order_at": iso(orders.last) if orders.last else None,
        "days_since_last_order": (at - orders.last).days if orders.last else None,
        "first_seen_at": state["first_seen"],
        "last_seen_at": state["last_seen"],
        "days_since_last_seen": (at - last_seen).days if last_seen else None,
        "purchased_product_ids": orders.product_ids,
        "favorite_categories": [v for v, _ in ranked_affinity(state, "category", half_life)[:3]],
        "favorite_brands": [v for v, _ in ranked_affinity(state, "brand", half_life)[:3]],
        "rfm": rfm(orders, config, at),
        "email_open_rate": round(email.get("opened", 0) / delivered, 4) if delivered else None,
        "email_click_rate": round(email.get("clicked", 0) / delivered, 4) if delivered else None,
        "preferred_channel": preferred_channel(state),
        "best_send_hour_utc": _best_hour(state),
        "event_count": sum(state["counts"].values()),
        "lifecycle_stage": lifecycle_stage(orders, config, at),
    }


def preferred_channel(state: State) -> str | None:
    stated = state["zero_party"].get("preferred_channel")
    if stated and isinstance(stated[0], str):
        return stated[0]
    scores = {
        channel: actions.get("opened", 0) + 2 * actions.get("clicked", 0) + actions.get("viewed", 0)
        for channel, actions in state["engagement"].items()
    }
    scores = {c: s for c, s in scores.items() if s > 0}
    if not scores:
        return None
    best: str = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[0][0]
    return best


def _best_hour(state: State) -> int | None:
    if not state["hours"]:
        return None
    return int(sorted(state["hours"].items(), key=lambda item: (-item[1], int(item[0])))[0][0])


def plain_traits(state: State) -> dict[str, Any]:
    return {key: entry[0] for key, entry in sorted(state["traits"].items())}


def trait_sources(state: State) -> dict[str, dict[str, str]]:
    """When each trait was last set, and by which event (the latest one wins)."""
    out = {}
    for key, entry in sorted(state["traits"].items()):
        at, _, message_id = entry[1].partition("|")
        out[key] = {"updated_at": at, "message_id": message_id}
    return out


def consent_view(state: State) -> dict[str, dict[str, Any]]:
    return {
        purpose: {
            "granted": entry[0],
            "at": entry[1].split("|")[0],
            "source": entry[2],
        }
        for purpose, entry in sorted(state["consent"].items())
    }


def zero_party(state: State) -> dict[str, Any]:
    return {key: entry[0] for key, entry in sorted(state["zero_party"].items())}


# ---------------------------------------------------------------------------------------------
# Persistence


def load_states(conn: Connection, profile_ids: Iterable[str]) -> dict[str, State]:
    ordered = sorted(set(profile_ids))
    out: dict[str, State] = {}
    for start in range(0, len(ordered), 400):
        chunk = ordered[start : start + 400]
        for row in conn.execute(
            select(profiles.c.profile_id, profiles.c.state).where(profiles.c.profile_id.in_(chunk))
        ):
            out[row.profile_id] = orjson.loads(row.state)
    return out


def conflict_flags(conn: Connection, scope: Iterable[str] | None) -> dict[str, bool]:
    """Stored profiles (all, or those in ``scope``) and whether each was in a refused merge."""
    query = select(profiles.c.profile_id, profiles.c.conflicted)
    if scope is None:
        return {row.profile_id: bool(row.conflicted) for row in conn.execute(query)}
    ordered = sorted(set(scope))
    out: dict[str, bool] = {}
    for start in range(0, len(ordered), 400):
        chunk = ordered[start : start + 400]
        for row in conn.execute(query.where(profiles.c.profile_id.in_(chunk))):
            out[row.profile_id] = bool(row.conflicted)
    return out


def save_states(
    conn: Connection,
    states: dict[str, State],
    config: ProjectConfig,
    *,
    existing: set[str],
    conflicted: set[str] = frozenset(),  # type: ignore[assignment]
) -> None:
    """Write states: update the ``existing`` profiles, insert the rest."""
    at = now()
    rows = [
        _profile_row(pid, state, config, at, pid in conflicted) for pid, state in states.items()
    ]
    updates = [r for r in rows if r["profile_id"] in existing]
    inserts = [r for r in rows if r["profile_id"] not in existing]
    for row in updates:
        del row["created_at"]
    bulk_update(conn, profiles, "profile_id", updates)
    bulk_insert(conn, profiles, inserts)


def _profile_row(
    pid: str, state: State, config: ProjectConfig, at: datetime, conflicted: bool
) -> dict[str, Any]:
    orders = live_orders(state)
    watermark = state.get("watermark") or ""
    wm_ts, _, wm_id = watermark.partition("|")
    return {
        "profile_id": pid,
        "created_at": at,
        "updated_at": at,
        "watermark_ts": parse_timestamp(wm_ts) if wm_ts else None,
        "watermark_id": wm_id or None,
        "conflicted": conflicted or bool(state.get("conflicted")),
        "state": orjson.dumps(state).decode(),
        "traits": plain_traits(state),
        "order_count": orders.count,
        "lifetime_value": orders.value,
        "first_order_at": orders.first,
        "last_order_at": orders.last,
        "first_seen_at": parse_timestamp(state["first_seen"]) if state["first_seen"] else None,
        "last_seen_at": parse_timestamp(state["last_seen"]) if state["last_seen"] else None,
        "facets": tagged(f"{kind}:{value}" for kind, value in facets(state, config)),
        "consented": tagged(p for p, entry in state["consent"].items() if entry[0] is True),
    }


def facets(state: State, config: ProjectConfig) -> list[tuple[str, str]]:
    """(kind, value) pairs segments filter on: top-3 categories and brands, stated interests."""
    out = []
    for kind in ("category", "brand"):
        for value, _ in ranked_affinity(state, kind, config.affinity.half_life_days)[:3]:
            out.append((kind, value))
    interests = state["zero_party"].get("interests")
    if interests and isinstance(interests[0], list):
        for value in dict.fromkeys(str(v).strip().lower() for v in interests[0]):
            if value:
                out.append(("interest", value))
    return out


def tagged(values: Iterable[str]) -> str:
    """A set of values as ``|a|b|``, so ``LIKE '%|a|%'`` finds one on any backend."""
    return "|" + "".join(v.replace("|", "/") + "|" for v in values)


def delete_profiles(conn: Connection, profile_ids: list[str]) -> None:
    for start in range(0, len(profile_ids), 400):
        chunk = profile_ids[start : start + 400]
        conn.execute(delete(profiles).where(profiles.c.profile_id.in_(chunk)))


def bump_watermark(state: State, event: Any) -> None:
    stamp = _stamp(event)
    if stamp > (state.get("watermark") or ""):
        state["watermark"] = stamp
