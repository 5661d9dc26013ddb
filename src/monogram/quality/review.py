"""Messages and the human review queue.

Every draft ``personalize`` writes is recorded as a message with its elements, the gate's
decisions and provenance, so ``monogram explain`` can answer for it later. Elements the gate
flagged (high-risk placements, scores near a threshold, QA samples) become review items:
reviewers approve, edit or reject them. Edits are kept as preference data (original, edited,
reviewer, time) and can be promoted into the placement's library of approved variants.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select, update

from monogram.cdp import identity, privacy
from monogram.content.generate import Draft, eligible_variants
from monogram.content.placements import GeneratedElement, Placement, Variant
from monogram.content.prompts import render_locked
from monogram.core.clock import now
from monogram.core.errors import ConflictError, NotFound, ValidationError
from monogram.core.ids import new_id
from monogram.store import Store
from monogram.store.tables import (
    approved_variants,
    creative_renders,
    creatives,
    messages,
    reviews,
)

STATUSES = ("pending", "approved", "edited", "rejected")


def record_in(conn: Connection, draft: Draft, message_id: str | None = None) -> str:
    """Store a draft as a message, in the caller's transaction; open a review item for each
    flagged element. With ``message_id``, a message already stored under that id is kept as it
    is (a rerun)."""
    message_id = message_id or new_id("msg")
    if message_exists(conn, message_id):
        return message_id
    flagged = [e for e in draft.elements.values() if e.review]
    at = now()
    conn.execute(
        insert(messages).values(
            id=message_id,
            created_at=at,
            profile_id=draft.profile_id,
            customer=draft.customer,
            placement=draft.placement,
            strategy=draft.strategy,
            status="review" if flagged else "ready",
            # orjson writes dataclasses itself (no deep copy through dataclasses.asdict)
            elements=orjson.dumps(draft.elements).decode(),
            provenance=orjson.dumps(draft.provenance, default=str).decode(),
        )
    )
    for element in flagged:
        conn.execute(
            insert(reviews).values(
                created_at=at,
                message_id=message_id,
                profile_id=draft.profile_id,
                placement=draft.placement,
                element=element.name,
                status="pending",
                reasons=orjson.dumps(element.review_reasons).decode(),
                original=element.text,
            )
        )
    return message_id


def message_exists(conn: Connection, message_id: str) -> bool:
    return (
        conn.execute(select(messages.c.id).where(messages.c.id == message_id)).first() is not None
    )


def latest_ready(
    conn: Connection, profile_id: str, placement: str, since: datetime
) -> dict[str, Any] | None:
    """The newest ready message for this customer and placement written since ``since``."""
    row = conn.execute(
        select(messages.c.id, messages.c.strategy, messages.c.elements)
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
    return {"message_id": row.id, "strategy": row.strategy, "elements": orjson.loads(row.elements)}


def explain(conn: Connection, message_id: str) -> dict[str, Any]:
    """Everything recorded about one message: content, sources, checks, reviews, provenance."""
    row = conn.execute(select(messages).where(messages.c.id == message_id)).first()
    if row is None:
        raise NotFound(f"no message with id {message_id!r}")
    items = [
        review_dict(r)
        for r in conn.execute(
            select(reviews).where(reviews.c.message_id == message_id).order_by(reviews.c.id)
        )
    ]
    return {
        "message_id": row.id,
        "created_at": row.created_at,
        "customer": row.customer,
        "profile_id": row.profile_id,
        "placement": row.placement,
        "strategy": row.strategy,
        "status": row.status,
        "elements": orjson.loads(row.elements),
        "provenance": orjson.loads(row.provenance),
        "reviews": items,
    }


def review_dict(row: Any) -> dict[str, Any]:
    return {
        "review_id": row.id,
        "message_id": row.message_id,
        "placement": row.placement,
        "element": row.element,
        "status": row.status,
        "reasons": orjson.loads(row.reasons),
        "original": row.original,
        "edited": row.edited,
        "reviewer": row.reviewer,
        "note": row.note,
        "created_at": row.created_at,
        "decided_at": row.decided_at,
    }


def list_reviews(
    conn: Connection, status: str | None = "pending", limit: int = 50
) -> list[dict[str, Any]]:
    if status is not None and status not in STATUSES:
        raise ValidationError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    query = select(reviews).order_by(reviews.c.id).limit(limit)
    if status:
        query = query.where(reviews.c.status == status)
    return [review_dict(r) for r in conn.execute(query)]


def get_review(conn: Connection, review_id: int) -> dict[str, Any]:
    row = conn.execute(select(reviews).where(reviews.c.id == review_id)).first()
    if row is None:
        raise NotFound(f"no review item with id {review_id}")
    return review_dict(row)


def customer_of(conn: Connection, message_id: str) -> str:
    """The customer reference a message was written for."""
    found = conn.execute(select(messages.c.customer).where(messages.c.id == message_id)).scalar()
    if found is None:
        raise NotFound(f"no message with id {message_id!r}")
    return str(found)


def decide(
    store: Store,
    review_id: int,
    action: str,
    reviewer: str,
    *,
    text: str | None = None,
    note: str | None = None,
    fallback_text: str | None = None,
    override: str | None = None,
) -> dict[str, Any]:
    """Approve, edit (with ``text``) or reject (the element gets ``fallback_text``).

    ``override``: why an edit the quality gate failed goes out anyway (kept in the note)."""
    if override:
        note = f"{note}; gate overridden: {override}" if note else f"gate overridden: {override}"
    if not reviewer.strip():
        raise ValidationError("a reviewer name is required")
    if action == "edit" and not (text or "").strip():
        raise ValidationError("an edit needs the new text")
    status = {"approve": "approved", "edit": "edited", "reject": "rejected"}.get(action)
    if status is None:
        raise ValidationError(f"action must be approve, edit or reject, not {action!r}")
    with store.write() as conn:
        item = get_review(conn, review_id)
        if item["status"] != "pending":
            raise ConflictError(f"review {review_id} was already {item['status']}")
        conn.execute(
            update(reviews)
            .where(reviews.c.id == review_id)
            .values(
                status=status,
                edited=text if action == "edit" else None,
                reviewer=reviewer.strip(),
                note=note,
                decided_at=now(),
            )
        )
        final = {"approve": item["original"], "edit": text, "reject": fallback_text}[action]
        _apply(conn, item["message_id"], item["element"], status, final)
        return get_review(conn, review_id)


def _apply(conn: Connection, message_id: str, element: str, status: str, text: str | None) -> None:
    row = conn.execute(select(messages).where(messages.c.id == message_id)).one()
    elements = orjson.loads(row.elements)
    entry = elements[element]
    entry["review"] = False
    entry["reviewed"] = status
    if text is not None:
        entry["text"] = text
    if status == "rejected":
        entry["source"] = "fallback"
        entry["reason"] = "rejected in review"
    pending = conn.execute(
        select(reviews.c.id).where(
            reviews.c.message_id == message_id, reviews.c.status == "pending"
        )
    ).first()
    conn.execute(
        update(messages)
        .where(messages.c.id == message_id)
        .values(
            elements=orjson.dumps(elements).decode(),
            status="review" if pending else "ready",
        )
    )


def default_copy(placement: Placement, element_name: str, brand: str) -> str | None:
    """The approved default an element falls back to when its review is rejected."""
    element = next((e for e in placement.elements if e.name == element_name), None)
    if not isinstance(element, GeneratedElement):
        return None
    variant = eligible_variants(element, [])[0]
    return render_locked(variant.text, {"brand": brand}, origin=f"{placement.name}.{element_name}")


def promote(store: Store, review_id: int) -> str:
    """Add an approved edit to the placement's library of approved variants."""
    with store.write() as conn:
        item = get_review(conn, review_id)
        if item["status"] != "edited":
            raise ConflictError(
                f"review {review_id} is {item['status']}; only edits can be promoted"
            )
        variant_id = f"review_{review_id}"
        exists = conn.execute(
            select(approved_variants.c.id).where(approved_variants.c.id == variant_id)
        ).first()
        if exists is None:
            conn.execute(
                insert(approved_variants).values(
                    id=variant_id,
                    created_at=now(),
                    placement=item["placement"],
                    element=item["element"],
                    text=item["edited"],
                    review_id=review_id,
                )
            )
        return variant_id


def with_library(conn: Connection, placement: Placement) -> Placement:
    """The placement with reviewed edits added to its elements' approved variants."""
    rows = list(
        conn.execute(
            select(approved_variants).where(approved_variants.c.placement == placement.name)
        )
    )
    if not rows:
        return placement
    copy = placement.model_copy(deep=True)
    for element in copy.elements:
        if isinstance(element, GeneratedElement):
            element.fallbacks.extend(
                Variant(id=r.id, text=r.text) for r in rows if r.element == element.name
            )
    return copy


def _erase(conn: Connection, profile_id: str, _keys: list[identity.IdKey]) -> int:
    """The person's review items and messages, and the creatives only their messages show
    (a creative can hold their words; one that other customers' messages show stays)."""
    shown: set[str] = set()
    for (elements,) in conn.execute(
        select(messages.c.elements).where(messages.c.profile_id == profile_id)
    ):
        for element in orjson.loads(elements).values():
            shown |= {i["name"] for i in (element.get("media") or {}).get("images", [])}
    count = conn.execute(delete(reviews).where(reviews.c.profile_id == profile_id)).rowcount
    count += conn.execute(delete(messages).where(messages.c.profile_id == profile_id)).rowcount
    for name in sorted(shown):
        if conn.execute(
            select(messages.c.id).where(messages.c.elements.contains(name)).limit(1)
        ).first():
            continue
        conn.execute(delete(creative_renders).where(creative_renders.c.name == name))
        count += conn.execute(delete(creatives).where(creatives.c.name == name)).rowcount
    return int(count)


def _export(conn: Connection, profile_id: str, _keys: list[identity.IdKey]) -> list[dict[str, Any]]:
    ids = conn.execute(select(messages.c.id).where(messages.c.profile_id == profile_id)).scalars()
    return [explain(conn, message_id) for message_id in ids]


privacy.register("messages", eraser=_erase, exporter=_export)
