"""Data-subject requests: export everything held about a person, or erase it.

Later stages keep their own records about a person (messages, decisions); they register an
eraser and an exporter here with ``register``, so one ``erase`` removes everything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import Connection, delete, or_, select

from monogram.cdp import context, identity, ingest, profiles, segments, unify
from monogram.core.errors import FieldError, ValidationError
from monogram.core.settings import ProjectConfig
from monogram.store import Store
from monogram.store.engine import exclusive
from monogram.store.tables import (
    events,
    identifiers,
    identity_merges,
    identity_refusals,
    identity_splits,
    quarantine,
)
from monogram.store.tables import profiles as profiles_table

Eraser = Callable[[Connection, str, list[identity.IdKey]], int]
Exporter = Callable[[Connection, str, list[identity.IdKey]], Any]
_erasers: dict[str, Eraser] = {}
_exporters: dict[str, Exporter] = {}


def register(name: str, *, eraser: Eraser, exporter: Exporter | None = None) -> None:
    """Let a later stage add its own records about a person to export and erase (erasers run
    in the order they were registered)."""
    _erasers[name] = eraser
    if exporter is not None:
        _exporters[name] = exporter


def _keys(conn: Connection, profile_id: str) -> list[identity.IdKey]:
    return [(i["type"], i["value"]) for i in identity.identifiers_for(conn, profile_id)]


def export(
    store: Store, config: ProjectConfig, defined: dict[str, segments.Segment], ref: str
) -> dict[str, Any]:
    """Everything held about the person ``ref`` (``TYPE:VALUE``) names."""
    with store.read() as conn:
        profile_id = context.resolve(conn, ref)
        keys = _keys(conn, profile_id)
        log = [
            orjson.loads(row.payload)
            for row in conn.execute(
                select(events.c.payload)
                .where(events.c.profile_id == profile_id)
                .order_by(events.c.ts)
            )
        ]
        return {
            "profile": context.profile_view(conn, config, defined, profile_id),
            "events": log,
            "quarantined": [
                {"id": r.id, "errors": orjson.loads(r.errors), "payload": r.payload}
                for r in conn.execute(
                    select(quarantine).where(_mentions(quarantine.c.payload, keys))
                )
            ],
            **{name: fn(conn, profile_id, keys) for name, fn in _exporters.items()},
        }


def erase(store: Store, ref: str) -> dict[str, int]:
    """Remove the person's events, identifiers, traits and everything derived from them."""
    with store.write() as conn:
        exclusive(conn, unify.IDENTITY_LOCK)
        profile_id = context.resolve(conn, ref)
        keys = _keys(conn, profile_id)
        counts = {
            "events": conn.execute(
                delete(events).where(events.c.profile_id == profile_id)
            ).rowcount,
            "identifiers": conn.execute(
                delete(identifiers).where(identifiers.c.profile_id == profile_id)
            ).rowcount,
            "quarantined": conn.execute(
                delete(quarantine).where(_mentions(quarantine.c.payload, keys))
            ).rowcount,
            "merges": conn.execute(
                delete(identity_merges).where(identity_merges.c.profile_id == profile_id)
            ).rowcount,
            "refusals": conn.execute(
                delete(identity_refusals).where(
                    or_(
                        identity_refusals.c.profile_id == profile_id,
                        identity_refusals.c.other_profile_id == profile_id,
                    )
                )
            ).rowcount,
            "splits": conn.execute(
                delete(identity_splits).where(
                    or_(
                        _mentions(identity_splits.c.side_a, keys),
                        _mentions(identity_splits.c.side_b, keys),
                    )
                )
            ).rowcount,
        }
        counts["profiles"] = conn.execute(
            delete(profiles_table).where(profiles_table.c.profile_id == profile_id)
        ).rowcount
        for name, fn in _erasers.items():
            counts[name] = fn(conn, profile_id, keys)
    store.checkpoint()  # SQLite: the write-ahead log no longer holds the erased rows
    return counts


FIELDS = {"user_id": "userId", "anonymous_id": "anonymousId", "email": "email", "phone": "phone"}


def _addressed_to(keys: list[identity.IdKey]) -> dict[str, Any] | None:
    """Event fields that identity resolution attaches to the profile holding ``keys``."""
    by_type = dict(keys)
    if "user_id" in by_type:
        return {"userId": by_type["user_id"]}
    if "anonymous_id" in by_type:
        return {"anonymousId": by_type["anonymous_id"]}
    # Known only by email, phone or a custom id: carry it, with a stable anonymous id.
    traits = {t: by_type[t] for t in ("email", "phone") if t in by_type}
    external = [{"id": v, "type": t} for t, v in keys if t not in identity.BUILTIN_TYPES]
    if not traits and not external:
        return None
    kind, value = keys[0]
    return {
        "anonymousId": f"monogram-{kind}-{value}",
        "context": {"traits": traits, "externalIds": external},
    }


def address_of(conn: Connection, profile_id: str) -> dict[str, Any] | None:
    """Event fields (``userId``, ...) that identity resolution attaches to this profile, or
    None when nothing addresses it any more (erased)."""
    return _addressed_to(_keys(conn, profile_id))


def track_for_profile(
    store: Store,
    config: ProjectConfig,
    profile_id: str,
    event: str,
    properties: dict[str, Any],
    message_id: str,
    source: str = "tracking",
) -> ingest.IngestReport | None:
    """Record a server-side event (an open, a click, an unsubscribe, a reply) on a known
    profile. Returns ingestion's report (``accepted`` 0 and ``duplicates`` 1 for an event
    recorded before), or None when the person was erased since the message went out."""
    with store.read() as conn:
        ids = _addressed_to(_keys(conn, profile_id))
    if ids is None:
        return None
    raw = {
        "type": "track",
        "event": event,
        "messageId": message_id,
        **ids,
        "properties": properties,
    }
    return unify.ingest_batch(store, config, [raw], source=source)


def record_consent(
    store: Store, config: ProjectConfig, ref: str, consent: dict[str, bool], source: str
) -> dict[str, Any]:
    """Record consent for a known person as a ``Consent Updated`` event (so rebuilds keep it).

    Returns the person's consent afterwards. A consent name the project does not define is
    refused (it would match nobody's purpose).
    """
    unknown = sorted(set(consent) - set(config.consent_purposes))
    if unknown:
        known = ", ".join(config.consent_purposes)
        raise ValidationError(
            "invalid consent:",
            [FieldError(f"consent.{p}", f"unknown consent (known: {known})") for p in unknown],
        )
    record_event(
        store,
        config,
        ref,
        "Consent Updated",
        {"consent": consent, "source": source},
        source="consent-api",
    )
    with store.read() as conn:
        state = context.load_state(conn, context.resolve(conn, ref))
    return profiles.consent_view(state)


def record_event(
    store: Store,
    config: ProjectConfig,
    ref: str,
    name: str,
    properties: dict[str, Any],
    *,
    source: str,
    message_id: str | None = None,
) -> None:
    """Put an event on a known person's timeline, through ingestion like any other (so rebuilds
    keep it). A ``message_id`` makes it idempotent: a second call with it is a duplicate."""
    with store.read() as conn:
        ids = _addressed_to(_keys(conn, context.resolve(conn, ref)))
    if ids is None:
        raise ValidationError(f"{ref} has no identifier an event can carry")
    event = {
        "type": "track",
        "event": name,
        **ids,
        "properties": properties,
        "context": {**ids.get("context", {}), "library": {"name": "monogram"}},
        **({"messageId": message_id} if message_id else {}),
    }
    report = unify.ingest_batch(store, config, [event], source=source)
    if report.rejected:
        raise ValidationError(f"{name} not recorded:", report.rejected[0].errors)


def _mentions(column: Any, keys: list[identity.IdKey]) -> Any:
    # Quarantined payloads are unparsed text (stored compactly by orjson): match each
    # identifier as the JSON field that carries it, e.g. "userId":"42".
    needles = []
    for kind, value in keys:
        quoted = orjson.dumps(value).decode()
        if kind in FIELDS:
            needles.append(f'"{FIELDS[kind]}":{quoted}')
        elif len(value) >= 6:
            needles.append(quoted)
    if not needles:
        return column.is_(None) & column.is_not(None)
    return or_(*(column.contains(n) for n in needles))
