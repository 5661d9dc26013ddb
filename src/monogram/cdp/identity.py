"""The identity graph: which identifiers belong to one person.

Each event carries identifiers (userId, anonymousId, email, phone, external ids). Resolution
happens in-stream, as each batch arrives: identifiers already known pull the event onto their
profile, and an event that connects two profiles merges them, unless a guard refuses:

* junk values (``null``, ``0``, ``test@test.com`` ...) are never identifiers;
* per-type limits (by default one ``user_id`` per profile) refuse a merge that would pass them;
* a split recorded by ``unmerge`` keeps two sets of identifiers apart for good.

The canonical result is the log replayed in ``(timestamp, messageId)`` order. Without refusals
a union of links does not depend on order, so the in-stream path is exact; when a refusal is
involved and an event arrives late, the connected part of the graph is replayed from the log
(``replay_profiles``), so any arrival order gives the same profiles. Every merge and refusal is
recorded with the event and the reason.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import phonenumbers
from sqlalchemy import Connection, delete, insert, select, update

from monogram.core.clock import now
from monogram.core.errors import NotFound, ValidationError
from monogram.core.ids import new_profile_id
from monogram.core.settings import IdentityConfig
from monogram.store.engine import bulk_insert, bulk_sql
from monogram.store.tables import (
    events,
    identifiers,
    identity_merges,
    identity_refusals,
    identity_splits,
)

IdKey = tuple[str, str]
BUILTIN_TYPES = ("user_id", "anonymous_id", "email", "phone")
_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CHUNK = 400


def key_text(key: IdKey) -> str:
    return f"{key[0]}:{key[1]}"


def parse_key(text: str) -> IdKey:
    """Parse ``TYPE:VALUE`` (``user_id:42``, ``email:maya@example.com``), normalising the value."""
    kind, sep, value = text.partition(":")
    kind = kind.strip().lower()
    if not sep or not value.strip():
        raise ValidationError(
            f"identifier {text!r} must look like TYPE:VALUE, e.g. user_id:42 or email:a@b.com"
        )
    if not _TYPE_RE.match(kind):
        raise ValidationError(f"identifier type {kind!r} must be lower-case letters, digits, _")
    if "\x00" in value or len(value) > 512:
        raise ValidationError(
            f"identifier value must be at most 512 characters with no NUL character ({kind}:...)"
        )
    if kind == "email":
        return (kind, normalise_email(value) or value.strip().lower())
    if kind == "phone":
        return (kind, normalise_phone(value, "US") or value.strip())
    return (kind, value.strip())


def normalise_email(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    return text if _EMAIL_RE.match(text) else None


def normalise_phone(value: Any, region: str) -> str | None:
    """E.164 form of a phone number, or None when it is not a valid number."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    try:
        number = phonenumbers.parse(str(value), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def identifiers_of(event: Any, config: IdentityConfig) -> list[IdKey]:
    """The identifiers one event carries, normalised, junk removed, in a stable order.

    An alias's ``previousId`` comes back as type ``previous_id``: the graph decides whether it
    names a known user id or an anonymous id. The result is cached on the event.
    """
    if event.ids is not None:
        cached: list[IdKey] = event.ids
        return cached
    blocked = _blocked(config)
    candidates: list[tuple[str, Any]] = [
        ("user_id", event.user_id),
        ("anonymous_id", event.anonymous_id),
    ]
    traits = event.traits
    if traits:
        if "email" in traits:
            candidates.append(("email", normalise_email(traits["email"])))
        if "phone" in traits:
            candidates.append(
                ("phone", normalise_phone(traits["phone"], config.default_phone_region))
            )
        for trait in config.trait_identifiers:
            candidates.append((trait, traits.get(trait)))
    external = event.context.get("externalIds")
    if isinstance(external, list):
        candidates.extend(_external_ids(external))
    if event.type == "alias":
        candidates.append(("previous_id", event.payload.get("previousId")))
    found: dict[IdKey, None] = {}
    for kind, value in candidates:
        if value is None or value is True or value is False:
            continue
        if not isinstance(value, str):
            if not isinstance(value, int | float):
                continue
            value = str(value)
        text = value.strip()
        if text and len(text) <= 512 and text.lower() not in blocked:
            found[(kind, text)] = None
    keys = list(found)
    event.ids = keys
    return keys


def _external_ids(items: list[Any]) -> list[tuple[str, Any]]:
    out = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("type"), str):
            kind = item["type"].strip().lower().replace("-", "_")
            if _TYPE_RE.match(kind) and kind not in BUILTIN_TYPES:
                out.append((kind, item.get("id")))
    return out


def _blocked(config: IdentityConfig) -> frozenset[str]:
    return _normalised_blocked(tuple(config.blocked_values))


@functools.lru_cache(maxsize=32)
def _normalised_blocked(values: tuple[str, ...]) -> frozenset[str]:
    # Keyed by the values themselves: an id()-keyed cache outlived its config and
    # answered for the next one that reused the id.
    return frozenset(v.strip().lower() for v in values)


@dataclass
class Merge:
    winner: str
    loser: str
    winner_identifiers: list[IdKey]
    loser_identifiers: list[IdKey]
    message_id: str
    reason: str


@dataclass
class Refusal:
    profile_id: str
    other_profile_id: str
    identifier: IdKey
    other_identifier: IdKey
    message_id: str
    reason: str


@dataclass
class Split:
    side_a: frozenset[IdKey]
    side_b: frozenset[IdKey]
    split_id: int


@dataclass
class Graph:
    """An in-memory part of the identity graph that a batch (or a replay) works on."""

    config: IdentityConfig
    owner: dict[IdKey, str] = field(default_factory=dict)
    members: dict[str, set[IdKey]] = field(default_factory=lambda: defaultdict(set))
    splits: list[Split] = field(default_factory=list)
    new_keys: dict[IdKey, datetime] = field(default_factory=dict)
    seen: dict[IdKey, datetime] = field(default_factory=dict)
    redirect: dict[str, str] = field(default_factory=dict)
    merges: list[Merge] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    created: set[str] = field(default_factory=set)

    def resolve(self, keys: Sequence[IdKey], message_id: str, at: datetime) -> str:
        """Attach an event's identifiers; return the profile the event belongs to."""
        ordered = sorted((self._alias_target(k) for k in keys), key=self._rank)
        current: str | None = None
        for key in ordered:
            previous_seen = self.seen.get(key)
            self.seen[key] = at if previous_seen is None or at > previous_seen else previous_seen
            holder = self.owner.get(key)
            if current is None:
                current = holder or self._create(key, at)
            elif holder is None:
                reason = self._violation(self.members[current], {key})
                if reason:
                    self._refuse(current, "", ordered[0], key, message_id, reason)
                else:
                    self._attach(key, current, at)
            elif holder != current:
                reason = self._violation(self.members[current], self.members[holder])
                if reason:
                    self._refuse(current, holder, ordered[0], key, message_id, reason)
                else:
                    self._merge(current, holder, ordered[0], key, message_id)
        if current is None:
            raise ValueError("an event needs at least one identifier")
        return current

    def final(self, profile_id: str) -> str:
        while profile_id in self.redirect:
            profile_id = self.redirect[profile_id]
        return profile_id

    def _rank(self, key: IdKey) -> tuple[int, str, str]:
        priority = self.config.priority
        rank = priority.index(key[0]) if key[0] in priority else len(priority)
        return (rank, key[0], key[1])

    def _alias_target(self, key: IdKey) -> IdKey:
        if key[0] != "previous_id":
            return key
        as_user = ("user_id", key[1])
        return as_user if as_user in self.owner else ("anonymous_id", key[1])

    def _create(self, key: IdKey, at: datetime) -> str:
        profile_id = new_profile_id()
        self.created.add(profile_id)
        self._attach(key, profile_id, at)
        return profile_id

    def _attach(self, key: IdKey, profile_id: str, at: datetime) -> None:
        self.owner[key] = profile_id
        self.members[profile_id].add(key)
        self.new_keys[key] = at

    def _violation(self, ours: set[IdKey], theirs: set[IdKey]) -> str | None:
        for kind, limit in self.config.limits.items():
            count = sum(1 for k in ours if k[0] == kind) + sum(1 for k in theirs if k[0] == kind)
            if count > limit:
                return f"would give one profile {count} {kind} identifiers (limit {limit})"
        for split in self.splits:
            if (ours & split.side_a and theirs & split.side_b) or (
                ours & split.side_b and theirs & split.side_a
            ):
                return f"kept apart by unmerge (split {split.split_id})"
        return None

    def _merge(self, winner: str, loser: str, a: IdKey, b: IdKey, message_id: str) -> None:
        moving = self.members.pop(loser)
        self.merges.append(
            Merge(
                winner=winner,
                loser=loser,
                winner_identifiers=sorted(self.members[winner]),
                loser_identifiers=sorted(moving),
                message_id=message_id,
                reason=f"event {message_id} links {key_text(a)} and {key_text(b)}",
            )
        )
        for key in moving:
            self.owner[key] = winner
        self.members[winner] |= moving
        self.redirect[loser] = winner

    def _refuse(
        self, profile_id: str, other: str, a: IdKey, b: IdKey, message_id: str, reason: str
    ) -> None:
        self.refusals.append(Refusal(profile_id, other, a, b, message_id, reason))


# ---------------------------------------------------------------------------------------------
# Loading and saving a part of the graph


def load_graph(conn: Connection, config: IdentityConfig, keys: Iterable[IdKey]) -> Graph:
    """The part of the graph a batch touches: owners of ``keys`` and all their identifiers."""
    wanted = set()
    for key in keys:
        if key[0] == "previous_id":
            wanted.update({("user_id", key[1]), ("anonymous_id", key[1])})
        else:
            wanted.add(key)
    graph = Graph(config, splits=load_splits(conn))
    profile_ids = {row.profile_id for row in _rows_for_keys(conn, wanted)}
    for row in rows_for_profiles(conn, profile_ids):
        key = (row.type, row.value)
        graph.owner[key] = row.profile_id
        graph.members[row.profile_id].add(key)
    return graph


def _rows_for_keys(conn: Connection, keys: set[IdKey]) -> Iterator[Any]:
    # One query per type, "type = ? AND value IN (...)", so the primary key serves it: SQLite
    # scans the whole table for a row-value IN over (type, value).
    by_type: dict[str, list[str]] = defaultdict(list)
    for kind, value in keys:
        by_type[kind].append(value)
    for kind, values in sorted(by_type.items()):
        values.sort()
        for start in range(0, len(values), CHUNK):
            yield from conn.execute(
                select(identifiers.c.profile_id).where(
                    identifiers.c.type == kind,
                    identifiers.c.value.in_(values[start : start + CHUNK]),
                )
            )


def rows_for_profiles(conn: Connection, profile_ids: Iterable[str]) -> Iterator[Any]:
    ordered = sorted(profile_ids)
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        yield from conn.execute(
            select(identifiers.c.type, identifiers.c.value, identifiers.c.profile_id).where(
                identifiers.c.profile_id.in_(chunk)
            )
        )


def load_splits(conn: Connection) -> list[Split]:
    return [
        Split(
            frozenset((k[0], k[1]) for k in orjson.loads(row.side_a)),
            frozenset((k[0], k[1]) for k in orjson.loads(row.side_b)),
            row.id,
        )
        for row in conn.execute(select(identity_splits))
    ]


def save_graph(conn: Connection, graph: Graph, *, stored: set[str] | None = None) -> None:
    """Write what resolution changed: moved identifiers, new ones, merges and refusals.

    ``stored``: the profiles that have rows in the database; a merge whose loser was made in
    this batch moves nothing stored. ``None`` means every profile may have rows.
    """
    at = now()
    fresh = stored is not None and not stored
    holding = None if stored is None else set(stored)
    for merge in graph.merges:
        if holding is not None:
            if merge.loser not in holding:
                continue
            holding.add(merge.winner)  # the winner now holds stored rows too
        for table in (identifiers, events, identity_merges):
            conn.execute(
                update(table)
                .where(table.c.profile_id == merge.loser)
                .values(profile_id=merge.winner)
            )
        for column in ("profile_id", "other_profile_id"):
            conn.execute(
                update(identity_refusals)
                .where(identity_refusals.c[column] == merge.loser)
                .values({column: merge.winner})
            )
    if graph.new_keys:
        bulk_insert(
            conn,
            identifiers,
            [
                {
                    "type": key[0],
                    "value": key[1],
                    "profile_id": graph.owner[key],
                    "first_seen": first,
                    "last_seen": graph.seen.get(key, first),
                }
                for key, first in graph.new_keys.items()
            ],
        )
    if not fresh:
        _touch_last_seen(conn, graph)
    if graph.merges:
        conn.execute(
            insert(identity_merges),
            [
                {
                    "at": at,
                    "profile_id": graph.final(m.winner),
                    "winner": m.winner,
                    "loser": m.loser,
                    "winner_identifiers": orjson.dumps(m.winner_identifiers).decode(),
                    "loser_identifiers": orjson.dumps(m.loser_identifiers).decode(),
                    "message_id": m.message_id,
                    "reason": m.reason,
                }
                for m in graph.merges
            ],
        )
    if graph.refusals:
        conn.execute(
            insert(identity_refusals),
            [
                {
                    "at": at,
                    "profile_id": graph.final(r.profile_id),
                    "other_profile_id": graph.final(r.other_profile_id)
                    if r.other_profile_id
                    else "",
                    "identifier": key_text(r.identifier),
                    "other_identifier": key_text(r.other_identifier),
                    "message_id": r.message_id,
                    "reason": r.reason,
                }
                for r in graph.refusals
            ],
        )


def _touch_last_seen(conn: Connection, graph: Graph) -> None:
    stale = [(k, t) for k, t in graph.seen.items() if k not in graph.new_keys and k in graph.owner]
    if not stale:
        return
    bulk_sql(
        conn,
        "UPDATE identifiers SET last_seen = {mark} "
        "WHERE type = {mark} AND value = {mark} AND last_seen < {mark}",
        identifiers,
        ["last_seen", "type", "value", "last_seen"],
        [{"last_seen": t, "type": k[0], "value": k[1]} for k, t in stale],
    )


# ---------------------------------------------------------------------------------------------
# Queries, replay support and unmerge


def profile_for(conn: Connection, key: IdKey) -> str:
    """The profile that holds an identifier; NotFound when none does."""
    profile_id = conn.execute(
        select(identifiers.c.profile_id).where(
            identifiers.c.type == key[0], identifiers.c.value == key[1]
        )
    ).scalar()
    if profile_id is None:
        raise NotFound(f"no profile has identifier {key_text(key)}")
    return str(profile_id)


def identifiers_for(conn: Connection, profile_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(identifiers)
        .where(identifiers.c.profile_id == profile_id)
        .order_by(identifiers.c.type, identifiers.c.value)
    )
    return [
        {"type": r.type, "value": r.value, "first_seen": r.first_seen, "last_seen": r.last_seen}
        for r in rows
    ]


def closure(conn: Connection, profile_ids: set[str]) -> set[str]:
    """Profiles linked to these by refused merges, transitively: what a replay must include."""
    found = set(profile_ids)
    frontier = set(profile_ids)
    while frontier:
        keys = {key_text((r.type, r.value)) for r in rows_for_profiles(conn, frontier)}
        ordered = sorted(keys)
        others: set[str] = set()
        for start in range(0, len(ordered), CHUNK):
            chunk = ordered[start : start + CHUNK]
            for row in conn.execute(
                select(identity_refusals.c.identifier, identity_refusals.c.other_identifier).where(
                    identity_refusals.c.identifier.in_(chunk)
                    | identity_refusals.c.other_identifier.in_(chunk)
                )
            ):
                others.update({row.identifier, row.other_identifier})
        linked = {
            row.profile_id for row in _rows_for_keys(conn, {_split_text(t) for t in others - keys})
        }
        frontier = linked - found
        found |= linked
    return found


def _split_text(text: str) -> IdKey:
    kind, _, value = text.partition(":")
    return (kind, value)


def forget_profiles(conn: Connection, profile_ids: set[str]) -> None:
    """Delete the graph records of these profiles (a replay writes them anew)."""
    ordered = sorted(profile_ids)
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        conn.execute(delete(identifiers).where(identifiers.c.profile_id.in_(chunk)))
        conn.execute(delete(identity_merges).where(identity_merges.c.profile_id.in_(chunk)))
        conn.execute(
            delete(identity_refusals).where(
                identity_refusals.c.profile_id.in_(chunk)
                | identity_refusals.c.other_profile_id.in_(chunk)
            )
        )


def merges_for(conn: Connection, profile_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(identity_merges)
        .where(identity_merges.c.profile_id == profile_id)
        .order_by(identity_merges.c.id)
    )
    return [merge_dict(r) for r in rows]


def merge_dict(row: Any) -> dict[str, Any]:
    return {
        "merge_id": row.id,
        "at": row.at,
        "winner": row.winner,
        "loser": row.loser,
        "winner_identifiers": [key_text(tuple(k)) for k in orjson.loads(row.winner_identifiers)],
        "loser_identifiers": [key_text(tuple(k)) for k in orjson.loads(row.loser_identifiers)],
        "message_id": row.message_id,
        "reason": row.reason,
    }


def refusals_for(conn: Connection, profile_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(identity_refusals)
        .where(
            (identity_refusals.c.profile_id == profile_id)
            | (identity_refusals.c.other_profile_id == profile_id)
        )
        .order_by(identity_refusals.c.id)
    )
    return [
        {
            "at": r.at,
            "identifier": r.identifier,
            "other_identifier": r.other_identifier,
            "message_id": r.message_id,
            "reason": r.reason,
        }
        for r in rows
    ]


def record_split(conn: Connection, merge_id: int, reason: str) -> str:
    """Record that a merge was wrong: its two sides stay apart from now on.

    Returns the profile that currently holds the merge, which the caller replays.
    """
    row = conn.execute(select(identity_merges).where(identity_merges.c.id == merge_id)).first()
    if row is None:
        raise NotFound(f"no merge with id {merge_id}; see `monogram identity merges TYPE:VALUE`")
    conn.execute(
        insert(identity_splits).values(
            at=now(),
            merge_id=merge_id,
            side_a=row.winner_identifiers,
            side_b=row.loser_identifiers,
            reason=reason,
        )
    )
    return str(row.profile_id)
