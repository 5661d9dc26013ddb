"""New prompt variants: proposed from what wins, checked offline, live only once a person
approves them.

A proposal rewrites a winning instruction by a rule (shorter, plainer words, warmer, one
concrete product fact); ``monogram.proposing`` checks it on a sample of customers through the
real step (nothing recorded) and keeps the figures with it. A person approves or rejects it
(CLI, API); an approved variant is live: ``with_live`` adds it to its element in the placement
as the workspace loads it, with a version (the proposal's id), so the learning loop chooses it
like any other arm and every message records which variant wrote it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from monogram.content.placements import Placement, PromptVariant
from monogram.core.clock import now
from monogram.core.errors import ConflictError, NotFound, ValidationError
from monogram.store import Store
from monogram.store.tables import variant_proposals

# How a winning instruction is rewritten: (name, what is added, for one-line elements only).
RULES = (
    ("short", "Use at most eight words.", True),
    ("plain", "Use plain, everyday words a friend would use.", False),
    ("warm", "Sound warm and personal, never pushy.", False),
    ("fact", "Name one concrete product fact from the data.", False),
)


def candidates(spec: Placement, winners: dict[str, str | None]) -> list[dict[str, Any]]:
    """Rule-made rewrites of each element's winning instruction (``winners``: element -> the
    winning variant id, or None for the element's own), skipping what already exists."""
    out = []
    for element in spec.generated():
        base = element.for_variant(winners.get(element.name))
        taken = {v.id for v in element.variants} | {v.instruction for v in element.variants}
        for rule, extra, one_line in RULES:
            if one_line and not element.single_line:
                continue
            if extra.lower() in base.instruction.lower():
                continue
            instruction = f"{base.instruction.rstrip()} {extra}"
            variant_id = f"{rule}{len(element.variants) + 1}"
            if variant_id in taken or instruction in taken:
                continue
            out.append(
                {
                    "placement": spec.name,
                    "element": element.name,
                    "variant_id": variant_id,
                    "instruction": instruction,
                    "based_on": winners.get(element.name),
                    "how": f"rule: {rule}",
                }
            )
    return out


def record(store: Store, proposals: list[dict[str, Any]]) -> list[int]:
    with store.write() as conn:
        return [
            int(
                conn.execute(
                    insert(variant_proposals)
                    .values(**p, status="proposed", created_at=now())
                    .returning(variant_proposals.c.id)
                ).scalar_one()
            )
            for p in proposals
        ]


def listed(conn: Connection, status: str | None = None) -> list[dict[str, Any]]:
    query = select(variant_proposals).order_by(variant_proposals.c.id)
    if status:
        query = query.where(variant_proposals.c.status == status)
    return [_as_dict(r) for r in conn.execute(query)]


def _as_dict(row: Any) -> dict[str, Any]:
    return {
        "id": int(row.id),
        "placement": row.placement,
        "element": row.element,
        "variant_id": row.variant_id,
        "instruction": row.instruction,
        "based_on": row.based_on,
        "how": row.how,
        "status": row.status,
        "check": row.check,
        "decided_by": row.decided_by,
        "note": row.note,
    }


def decide(store: Store, proposal_id: int, action: str, by: str, note: str = "") -> dict[str, Any]:
    """``approve`` (the variant goes live) or ``reject``; a proposal not yet checked offline
    cannot be approved."""
    if action not in ("approve", "reject"):
        raise ValidationError(f"action must be approve or reject, not {action!r}")
    with store.write() as conn:
        row = conn.execute(
            select(variant_proposals).where(variant_proposals.c.id == proposal_id)
        ).first()
        if row is None:
            raise NotFound(f"no variant proposal {proposal_id}")
        if row.status != "proposed":
            raise ConflictError(f"variant proposal {proposal_id} is already {row.status}")
        if action == "approve" and not row.check:
            raise ValidationError(
                f"variant proposal {proposal_id} has not been checked offline yet "
                "(`monogram learn propose` checks what it proposes)"
            )
        status = "live" if action == "approve" else "rejected"
        conn.execute(
            update(variant_proposals)
            .where(variant_proposals.c.id == proposal_id)
            .values(status=status, decided_by=by, decided_at=now(), note=note)
        )
        return _as_dict(
            conn.execute(
                select(variant_proposals).where(variant_proposals.c.id == proposal_id)
            ).one()
        )


def live(conn: Connection) -> list[Any]:
    query = select(variant_proposals).where(variant_proposals.c.status == "live")
    return list(conn.execute(query.order_by(variant_proposals.c.id)))


def with_live(placements: dict[str, Placement], rows: list[Any]) -> dict[str, Placement]:
    """The placements with their approved variants added (each checked by the same validation
    as a placement file: a variant that would not load is left out)."""
    if not rows:
        return placements
    out = dict(placements)
    for name in {r.placement for r in rows}:
        spec = out.get(name)
        if spec is None:
            continue
        data = spec.model_dump()
        data["strategies"] = [  # the arms are made again below, with the new variants
            s
            for s in data["strategies"]
            if not (s["template_version"] and s["name"].endswith(f"__{s['template_version']}"))
        ]
        for row in (r for r in rows if r.placement == name):
            element = next((e for e in data["elements"] if e["name"] == row.element), None)
            if element is None or any(v["id"] == row.variant_id for v in element["variants"]):
                continue
            variant = PromptVariant(
                id=row.variant_id, instruction=row.instruction, note=f"live v{row.id}"
            )
            element["variants"].append(variant.model_dump())
        try:
            out[name] = Placement.model_validate(data)
        except ValueError:
            continue
    return out
