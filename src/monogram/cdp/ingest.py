"""The event log: validate, dedupe on messageId, append, quarantine what is rejected.

Resolution and profile folding happen in ``cdp.unify``, in the same transaction, so an event is
either in the log *and* on its profile, or nowhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, select, update

from monogram.cdp.events import Event, parse_event
from monogram.core.clock import now, parse_timestamp
from monogram.core.errors import FieldError, ValidationError
from monogram.store.engine import bulk_insert
from monogram.store.tables import events, quarantine

CHUNK = 400


@dataclass
class Unparsable:
    """Input that is not JSON at all (a bad line in a file); rejected with the parser's reason."""

    reason: str
    text: str


@dataclass
class Rejection:
    """One event that was refused, where it was and why."""

    index: int
    message_id: str | None
    errors: list[FieldError]

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "messageId": self.message_id,
            "errors": [e.as_dict() for e in self.errors],
        }


@dataclass
class IngestReport:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    quarantine_dropped: int = 0  # rejects over a request's quarantine limit, counted not kept

    def add(self, other: IngestReport) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)
        self.quarantine_dropped += other.quarantine_dropped

    def reasons(self) -> dict[str, int]:
        """Rejections counted by reason, for summaries."""
        counts: dict[str, int] = {}
        for rejection in self.rejected:
            for error in rejection.errors:
                field_name = (
                    error.field.split(".", 2)[-1]
                    if error.field.startswith("batch.")
                    else error.field
                )
                label = f"{field_name}: {error.reason}"
                counts[label] = counts.get(label, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: -item[1]))

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": len(self.rejected),
            "errors": [r.as_dict() for r in self.rejected],
        }


def validate(
    raws: Sequence[Any],
    received_at: datetime,
    *,
    prefix: str = "",
    first_index: int = 0,
    sizes: Sequence[int] | None = None,
) -> tuple[list[Event], list[Rejection]]:
    """Split raw events into valid ``Event``s and ``Rejection``s (with field-level reasons).

    ``sizes``: each event's encoded size, when known, saves measuring it again.
    """
    good: list[Event] = []
    bad: list[Rejection] = []
    for offset, raw in enumerate(raws):
        index = first_index + offset
        if isinstance(raw, Unparsable):
            bad.append(Rejection(index, None, [FieldError("line", raw.reason)]))
            continue
        try:
            event = parse_event(
                raw,
                received_at,
                prefix=f"{prefix}{index}." if prefix else "",
                size=sizes[offset] if sizes is not None else None,
            )
            event.index = index
            good.append(event)
        except ValidationError as exc:
            message_id = raw.get("messageId") if isinstance(raw, dict) else None
            bad.append(Rejection(index, str(message_id) if message_id else None, exc.errors))
    return good, bad


def fresh_events(conn: Connection, batch: Iterable[Event]) -> tuple[list[Event], int]:
    """Drop events whose messageId is already in the log (or earlier in the batch)."""
    unique: dict[str, Event] = {}
    duplicates = 0
    for event in batch:
        if event.message_id in unique:
            duplicates += 1
        else:
            unique[event.message_id] = event
    ids = list(unique)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for (message_id,) in conn.execute(
            select(events.c.message_id).where(events.c.message_id.in_(chunk))
        ):
            unique.pop(message_id, None)
            duplicates += 1
    return list(unique.values()), duplicates


def append(
    conn: Connection, batch: Sequence[Event], profile_ids: Sequence[str], source: str
) -> None:
    """Append events to the log, each attributed to its profile."""
    if not batch:
        return
    bulk_insert(
        conn,
        events,
        [
            {
                "message_id": e.message_id,
                "type": e.type,
                "name": e.name,
                "user_id": e.user_id,
                "anonymous_id": e.anonymous_id,
                "profile_id": pid,
                "ts": e.timestamp,
                "received_at": e.received_at,
                "source": source,
                "payload": e.to_json().decode(),
            }
            for e, pid in zip(batch, profile_ids, strict=True)
        ],
    )


def stored_event(row: Any) -> Event:
    """An ``Event`` from a log row, without validating again (it was valid when accepted)."""
    payload = orjson.loads(row.payload)
    return Event(
        type=row.type,
        message_id=row.message_id,
        user_id=row.user_id,
        anonymous_id=row.anonymous_id,
        name=row.name,
        timestamp=parse_timestamp(payload["timestamp"]),
        received_at=parse_timestamp(payload["receivedAt"]),
        payload=payload,
    )


def quarantine_rejects(
    conn: Connection, raws: Sequence[Any], rejections: Sequence[Rejection], source: str
) -> None:
    """Keep refused events with their reasons, so they can be inspected and replayed."""
    if not rejections:
        return
    at = now()
    rows = []
    for rejection in rejections:
        raw = raws[rejection.index] if rejection.index < len(raws) else None
        if isinstance(raw, Unparsable):
            payload = raw.text.replace("\x00", "\\u0000")
        else:
            try:
                payload = orjson.dumps(raw).decode()
            except TypeError:
                payload = repr(raw)
        message_id = rejection.message_id
        if message_id is not None:  # as much of it as both stores can hold
            message_id = message_id.replace("\x00", "")[:255]
        rows.append(
            {
                "received_at": at,
                "source": source,
                "message_id": message_id,
                "errors": orjson.dumps([e.as_dict() for e in rejection.errors]).decode(),
                "payload": payload,
            }
        )
    conn.execute(insert(quarantine), rows)


def quarantined(
    conn: Connection, *, include_replayed: bool = False, limit: int = 100
) -> list[dict[str, Any]]:
    query = select(quarantine).order_by(quarantine.c.id).limit(limit)
    if not include_replayed:
        query = query.where(quarantine.c.replayed_at.is_(None))
    return [
        {
            "id": r.id,
            "received_at": r.received_at,
            "source": r.source,
            "message_id": r.message_id,
            "errors": orjson.loads(r.errors),
            "payload": r.payload,
            "replayed_at": r.replayed_at,
        }
        for r in conn.execute(query)
    ]


def quarantine_rows(conn: Connection, ids: Sequence[int] | None) -> Iterator[Any]:
    query = select(quarantine).where(quarantine.c.replayed_at.is_(None)).order_by(quarantine.c.id)
    if ids:
        query = query.where(quarantine.c.id.in_(list(ids)))
    yield from conn.execute(query)


def mark_replayed(conn: Connection, ids: Sequence[int]) -> None:
    for start in range(0, len(ids), CHUNK):
        conn.execute(
            update(quarantine)
            .where(quarantine.c.id.in_(list(ids[start : start + CHUNK])))
            .values(replayed_at=now())
        )


def count_quarantined(conn: Connection) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(quarantine).where(quarantine.c.replayed_at.is_(None))
        ).scalar_one()
    )


def update_errors(conn: Connection, items: Sequence[tuple[int, list[FieldError]]]) -> None:
    for row_id, errors in items:
        conn.execute(
            update(quarantine)
            .where(quarantine.c.id == row_id)
            .values(errors=orjson.dumps([e.as_dict() for e in errors]).decode())
        )
