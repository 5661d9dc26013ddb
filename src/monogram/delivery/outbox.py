"""The outbox: one row per (campaign, customer, placement) with an idempotency key and a state
that only moves forward, so a run killed at any moment can be rerun without writing or sending
anything twice.

States: planned -> generated -> (review ->) approved -> sending -> sent; or held_out,
suppressed, failed. A row found in ``sending`` after a crash may or may not have reached the
server; it is marked failed rather than sent again (at most once beats a duplicate email).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, and_, delete, func, insert, select, update

from monogram.cdp import identity, privacy
from monogram.core.clock import now
from monogram.store.tables import identifiers, messages, outbox, suppressions

TERMINAL = {"sent", "delivered", "bounced", "failed", "held_out", "suppressed"}


def key(campaign: str, profile_id: str, placement: str) -> str:
    return f"{campaign}|{profile_id}|{placement}"


def get(conn: Connection, idempotency_key: str) -> Any:
    return conn.execute(select(outbox).where(outbox.c.idempotency_key == idempotency_key)).first()


def plan_many(
    conn: Connection, campaign: str, profile_ids: list[str], placement: str
) -> dict[str, Any]:
    """The rows for these customers (one statement to read them, one to add the new ones in
    ``planned``), by profile id."""
    keys = {key(campaign, pid, placement): pid for pid in profile_ids}
    wanted = select(outbox).where(outbox.c.idempotency_key.in_(list(keys)))
    found = {keys[row.idempotency_key]: row for row in conn.execute(wanted)}
    new = [k for k, pid in keys.items() if pid not in found]
    if new:
        at = now()
        conn.execute(
            insert(outbox),
            [
                {
                    "idempotency_key": k,
                    "campaign": campaign,
                    "profile_id": keys[k],
                    "placement": placement,
                    "state": "planned",
                    "attempts": 0,
                    "created_at": at,
                    "updated_at": at,
                }
                for k in new
            ],
        )
        added = select(outbox).where(outbox.c.idempotency_key.in_(new))
        found.update({keys[row.idempotency_key]: row for row in conn.execute(added)})
    return found


def move(conn: Connection, row_id: int, state: str, **values: Any) -> None:
    if state in ("generated", "approved", "sending"):
        values.setdefault("reason", None)
    stamp = {"sent_at": now()} if state == "sent" else {}
    conn.execute(
        update(outbox)
        .where(outbox.c.id == row_id)
        .values(state=state, updated_at=now(), **stamp, **values)
    )


def get_by_id(conn: Connection, row_id: int) -> Any:
    return conn.execute(select(outbox).where(outbox.c.id == row_id)).one()


def recover_interrupted(conn: Connection, campaign: str) -> int:
    """Rows left in ``sending`` by a crash: not retried (they may have gone out)."""
    result = conn.execute(
        update(outbox)
        .where(outbox.c.campaign == campaign, outbox.c.state == "sending")
        .values(
            state="failed",
            reason="interrupted while sending; not retried to avoid a duplicate",
            updated_at=now(),
        )
    )
    return int(result.rowcount)


def sent_counts(conn: Connection, profile_ids: list[str], since: Any) -> Counter[str]:
    """How many messages each of these customers was sent since ``since`` (one query)."""
    rows = conn.execute(
        select(outbox.c.profile_id, func.count())
        .where(
            outbox.c.profile_id.in_(profile_ids),
            outbox.c.state.in_(("sent", "delivered")),
            outbox.c.sent_at >= since,
        )
        .group_by(outbox.c.profile_id)
    )
    return Counter({str(pid): int(n) for pid, n in rows})


def status(conn: Connection, campaign: str) -> dict[str, Any]:
    states: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for row in conn.execute(
        select(outbox.c.state, outbox.c.reason).where(outbox.c.campaign == campaign)
    ):
        states[row.state] += 1
        if row.reason:
            reasons[row.reason.split(":")[0]] += 1
    return {
        "campaign": campaign,
        "total": sum(states.values()),
        "states": dict(states),
        "reasons": dict(reasons),
    }


def add_suppression(conn: Connection, kind: str, value: str, reason: str) -> None:
    """Never send to this identifier again (hard bounces, complaints, legal requests)."""
    exists = conn.execute(
        select(suppressions.c.type).where(
            suppressions.c.type == kind, suppressions.c.value == value
        )
    ).first()
    if exists is None:
        conn.execute(
            insert(suppressions).values(type=kind, value=value, reason=reason, created_at=now())
        )


def suppressed_among(conn: Connection, profile_ids: list[str]) -> set[str]:
    """Those of these customers with any identifier on the suppression list (one query)."""
    listed = and_(
        suppressions.c.type == identifiers.c.type, suppressions.c.value == identifiers.c.value
    )
    rows = conn.execute(
        select(identifiers.c.profile_id)
        .distinct()
        .select_from(identifiers.join(suppressions, listed))
        .where(identifiers.c.profile_id.in_(profile_ids))
    )
    return {str(pid) for (pid,) in rows}


def fallbacks(conn: Connection, campaign: str) -> dict[str, int]:
    """A campaign's generated elements that went out as approved copy instead, by reason."""
    counts: Counter[str] = Counter()
    ids = select(outbox.c.message_id).where(
        outbox.c.campaign == campaign, outbox.c.message_id.is_not(None)
    )
    for (elements,) in conn.execute(select(messages.c.elements).where(messages.c.id.in_(ids))):
        for element in orjson.loads(elements).values():
            if element["source"] == "fallback":
                reason = (element.get("reason") or "fallback").split(":")[0]
                counts[re.sub(r"\s*\([^)]*\)", "", reason)] += 1  # "(score 2.5)" apart
    return dict(counts)


def list_suppressions(conn: Connection) -> list[dict[str, Any]]:
    return [
        {"type": r.type, "value": r.value, "reason": r.reason, "created_at": r.created_at}
        for r in conn.execute(select(suppressions).order_by(suppressions.c.created_at))
    ]


def _erase_exports(conn: Connection, profile_id: str, _keys: list[identity.IdKey]) -> int:
    """The person's rows in every file export the product wrote for them (the outbox row of
    each sent message names its file)."""
    from monogram.delivery.channels.file import erase_rows

    files: dict[str, set[str]] = {}
    for row in conn.execute(
        select(outbox.c.message_id, outbox.c.detail).where(
            outbox.c.profile_id == profile_id, outbox.c.detail.like("file:%")
        )
    ):
        if row.message_id:
            files.setdefault(row.detail.removeprefix("file:"), set()).add(row.message_id)
    return sum(erase_rows(Path(path), ids) for path, ids in files.items())


def _erase(conn: Connection, profile_id: str, _keys: list[identity.IdKey]) -> int:
    """A person's outbox rows (recipient address included) go; the suppression list stays, as
    it must to keep honouring an opt-out."""
    return int(conn.execute(delete(outbox).where(outbox.c.profile_id == profile_id)).rowcount)


def _export(conn: Connection, profile_id: str, _keys: list[identity.IdKey]) -> list[dict[str, Any]]:
    rows = conn.execute(select(outbox).where(outbox.c.profile_id == profile_id))
    return [
        {
            "campaign": r.campaign,
            "placement": r.placement,
            "state": r.state,
            "channel": r.channel,
            "recipient": r.recipient,
            "sent_at": r.sent_at,
        }
        for r in rows
    ]


privacy.register("export_rows", eraser=_erase_exports)  # before the rows that name the files
privacy.register("outbox", eraser=_erase, exporter=_export)
