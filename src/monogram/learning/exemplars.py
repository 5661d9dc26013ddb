"""Exemplars that learn: reviewed edits and the best-rewarded sent copy become worked examples
for their segment.

``build`` collects, per placement, element and segment (the decision's context bucket), the
texts people approved after editing them and the generated texts whose decisions earned a
reward, each with the data block it was written for; only customers who consent to the
purpose (``ai_generation`` by default). The customer's own names are replaced by stand-ins in
text and data alike (so the example still shows how a name is used), and a text that still
holds an email address or a phone number is left out. Each build is a new version of the set;
``rollback`` makes an earlier one active again. The step puts the active set's examples for the
customer's segment first among the brand kit's (``brand_for``).
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, insert, select, update

from monogram.cdp import identity, matching, privacy
from monogram.content.brand import BrandKit, Exemplar
from monogram.content.placements import Placement
from monogram.core.clock import now
from monogram.core.errors import NotFound, ValidationError
from monogram.learning.policy import bucket
from monogram.learning.preferences import PHONE
from monogram.quality.checks.pii import EMAIL
from monogram.store import Store
from monogram.store.tables import decisions, exemplar_sets, learned_exemplars, messages, reviews
from monogram.store.tables import profiles as profiles_table

STAND_INS = {"first_name": "Alex", "last_name": "Morgan"}


def build(
    store: Store,
    placements: dict[str, Placement],
    *,
    by: str,
    consent: str = "ai_generation",
    per_segment: int = 3,
    note: str = "",
) -> dict[str, Any]:
    """A new version of the learned set, made active; what went in, by source."""
    with store.read() as conn:
        found = _candidates(conn, placements, consent)
    chosen: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for item in found:  # edits first, then the best rewarded, newest first
        key = (item["placement"], item["element"], item["segment"])
        texts = {c["text"] for c in chosen[key]}
        if len(chosen[key]) < per_segment and item["text"] not in texts:
            chosen[key].append(item)
    rows = [item for items in chosen.values() for item in items]
    if not rows:
        raise ValidationError(
            "no exemplars to learn from: no reviewed edits and no rewarded generated copy of "
            f"customers who consent to {consent}"
        )
    with store.write() as conn:
        conn.execute(update(exemplar_sets).values(active=False))
        version = int(
            conn.execute(
                insert(exemplar_sets)
                .values(created_at=now(), by=by, note=note, active=True, size=len(rows))
                .returning(exemplar_sets.c.version)
            ).scalar_one()
        )
        conn.execute(insert(learned_exemplars), [{**r, "version": version} for r in rows])
    _cache.clear()
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row["source"]] += 1
    return {"version": version, "exemplars": len(rows), "by_source": dict(counts)}


def _candidates(
    conn: Connection, placements: dict[str, Placement], consent: str
) -> list[dict[str, Any]]:
    consenting = profiles_table.c.consented.like(f"%|{consent}|%")
    query = (
        select(
            messages.c.id,
            messages.c.placement,
            messages.c.elements,
            messages.c.profile_id,
            messages.c.created_at,
            profiles_table.c.traits,
        )
        .join(profiles_table, profiles_table.c.profile_id == messages.c.profile_id)
        .where(consenting)
    )
    rows = {row.id: row for row in conn.execute(query)}
    if not rows:
        return []
    segment_of: dict[str, str] = {}
    reward_of: dict[str, float] = {}
    for chunk in matching.chunks(list(rows), 500):
        for d in conn.execute(
            select(decisions.c.message_id, decisions.c.features, decisions.c.reward).where(
                decisions.c.message_id.in_(chunk)
            )
        ):
            segment_of[d.message_id] = orjson.loads(d.features).get("bucket", "all")
            if d.reward is not None:
                reward_of[d.message_id] = float(d.reward)
    edits = {
        (r.message_id, r.element): r.edited
        for r in conn.execute(select(reviews).where(reviews.c.status == "edited"))
        if r.edited
    }
    out: list[tuple[int, float, Any, dict[str, Any]]] = []
    for message_id, row in rows.items():
        spec = placements.get(row.placement)
        if spec is None:
            continue
        generated = {e.name for e in spec.generated()}
        for name, stored in orjson.loads(row.elements).items():
            data = stored.get("prompt_data")
            if name not in generated or not data:
                continue
            edited = edits.get((message_id, name))
            rewarded = reward_of.get(message_id, 0.0) > 0 and stored.get("source") == "generated"
            if edited is None and not rewarded:
                continue
            text, clean = _stand_in(edited or stored["text"], data, row.traits)
            if text is None:
                continue
            item = {
                "placement": row.placement,
                "element": name,
                "segment": segment_of.get(message_id, "all"),
                "text": text,
                "data": clean,
                "source": "review_edit" if edited is not None else "outcome",
                "message_id": message_id,
                "profile_id": row.profile_id,
            }
            rank = 0 if edited is not None else 1
            out.append((rank, -reward_of.get(message_id, 0.0), row.created_at, item))
    out.sort(key=lambda r: (r[0], r[1], -r[2].timestamp()))
    return [item for *_, item in out]


def _stand_in(text: str, data: dict[str, Any], traits: Any) -> tuple[str | None, dict[str, Any]]:
    """The text and data with the customer's names replaced by stand-ins; None when the text
    still holds an email address or a phone number."""
    names: dict[str, str] = {}
    if isinstance(traits, dict):
        for key, stand_in in STAND_INS.items():
            value = traits.get(key)
            if isinstance(value, str) and len(value.strip()) >= 2:
                names[value.strip()] = stand_in
    first = data.get("profile.first_name")
    if isinstance(first, str) and len(first.strip()) >= 2:
        names[first.strip()] = STAND_INS["first_name"]

    def swap(value: str) -> str:
        for real, stand_in in sorted(names.items(), key=lambda n: -len(n[0])):
            value = re.sub(rf"\b{re.escape(real)}\b", stand_in, value)
        return value

    cleaned = {k: swap(v) if isinstance(v, str) else v for k, v in data.items()}
    written = swap(text)
    if EMAIL.search(written) or PHONE.search(written):
        return None, cleaned
    return written, cleaned


# The active set, read once per store every couple of seconds (every step asks for it).
_cache: dict[str, tuple[float, dict[tuple[str, str], dict[str, list[Exemplar]]]]] = {}
FRESH_FOR = 2.0


def active(conn: Connection, placement: str, segment: str) -> dict[str, list[Exemplar]]:
    """The active set's examples for a placement and segment, by element."""
    key = str(conn.engine.url)
    found = _cache.get(key)
    if found is None or time.monotonic() > found[0]:
        table: dict[tuple[str, str], dict[str, list[Exemplar]]] = defaultdict(
            lambda: defaultdict(list)
        )
        version = conn.execute(
            select(exemplar_sets.c.version).where(exemplar_sets.c.active.is_(True))
        ).scalar()
        if version is not None:
            query = select(learned_exemplars).where(learned_exemplars.c.version == version)
            for row in conn.execute(query.order_by(learned_exemplars.c.id)):
                table[(row.placement, row.segment)][row.element].append(
                    Exemplar(text=row.text, data=row.data or {})
                )
        found = (time.monotonic() + FRESH_FOR, {k: dict(v) for k, v in table.items()})
        _cache[key] = found
    return dict(found[1].get((placement, segment), {}))


def brand_for(
    conn: Connection, brand: BrandKit, spec: Placement, features: dict[str, Any] | None
) -> BrandKit:
    """The brand kit with the learned examples for this customer's segment put first."""
    if not features:
        return brand
    learned = active(conn, spec.name, bucket(features))
    if not learned:
        return brand
    merged = dict(brand.exemplars)
    for element in spec.generated():
        extra = learned.get(element.name)
        if extra:
            key = element.exemplars or element.name
            merged[key] = [*extra, *merged.get(key, [])]
    return brand.model_copy(update={"exemplars": merged})


def rollback(store: Store, version: int) -> None:
    """Make an earlier (or any) version of the set the active one; 0 turns learning off."""
    with store.write() as conn:
        if version != 0:
            found = conn.execute(
                select(exemplar_sets.c.version).where(exemplar_sets.c.version == version)
            ).first()
            if found is None:
                raise NotFound(f"no exemplar set version {version}")
        conn.execute(update(exemplar_sets).values(active=False))
        if version:
            conn.execute(
                update(exemplar_sets).where(exemplar_sets.c.version == version).values(active=True)
            )
    _cache.clear()


def sets(conn: Connection) -> list[dict[str, Any]]:
    counts: dict[int, int] = {
        int(version): int(n)
        for version, n in conn.execute(
            select(learned_exemplars.c.version, func.count()).group_by(learned_exemplars.c.version)
        )
    }
    return [
        {
            "version": int(r.version),
            "created_at": r.created_at,
            "by": r.by,
            "note": r.note,
            "active": bool(r.active),
            "exemplars": int(counts.get(r.version, 0)),
        }
        for r in conn.execute(select(exemplar_sets).order_by(exemplar_sets.c.version))
    ]


def _erase(conn: Connection, profile_id: str, _keys: list[identity.IdKey]) -> int:
    """A person's words leave every version of the set."""
    _cache.clear()
    return int(
        conn.execute(
            delete(learned_exemplars).where(learned_exemplars.c.profile_id == profile_id)
        ).rowcount
    )


privacy.register("learned_exemplars", eraser=_erase)
