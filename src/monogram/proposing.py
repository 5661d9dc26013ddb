"""Propose prompt variants from what wins, and check them offline before a person decides.

Each proposal (``learning.proposals.candidates``) is tried on a sample of consenting
customers through the real per-customer step with nothing recorded, beside the instruction it
rewrites: the figures (how many of the element's texts the quality gate passed, how many fell
back, a few of the texts) are kept with the proposal, for the person who approves it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select, update

from monogram.content.placements import Placement, get_placement
from monogram.learning import proposals
from monogram.learning.report import template_report
from monogram.pipeline import Request, personalize
from monogram.store.tables import profiles, variant_proposals
from monogram.workspace import Workspace


def propose(
    ws: Workspace,
    placement: str,
    *,
    sample: int = 5,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Record and check new variants for ``placement``; returns them with their checks."""
    spec = get_placement(ws.placements(), placement)
    base = next(
        (s for s in spec.strategies if s.kind == "generative" and s.template_version is None),
        None,
    )
    if base is None:
        return []
    with ws.store.read() as conn:
        report = template_report(conn, {spec.name: spec})
    winner = _winner(report)
    found = proposals.candidates(spec, {e.name: winner for e in spec.generated()})
    if not found:
        return []
    customers = _sample(ws, spec, sample)
    ids = proposals.record(ws.store, found)
    for proposal_id, item in zip(ids, found, strict=True):
        if progress is not None:
            progress(f"{item['element']}: {item['variant_id']}")
        trial = _with(spec, item)
        arm = f"{base.name}__{item['variant_id']}"
        against = f"{base.name}__{winner}" if winner else base.name
        check = {
            "customers": len(customers),
            "variant": _tally(ws, trial, arm, item["element"], customers),
            "current": _tally(ws, trial, against, item["element"], customers),
        }
        item["id"], item["check"] = proposal_id, check
        with ws.store.write() as conn:
            conn.execute(
                update(variant_proposals)
                .where(variant_proposals.c.id == proposal_id)
                .values(check=check)
            )
    return found


def _winner(report: list[dict[str, Any]]) -> str | None:
    """The variant that wins the most segments (None: the element's own instruction)."""
    wins = Counter(r["variant"] for r in report if r["winner"])
    if not wins:
        return None
    best = wins.most_common(1)[0][0]
    return None if best == "(element's own)" else str(best)


def _with(spec: Placement, item: dict[str, Any]) -> Placement:
    row = SimpleNamespace(**item, id=0)
    return proposals.with_live({spec.name: spec}, [row])[spec.name]


def _sample(ws: Workspace, spec: Placement, size: int) -> list[str]:
    needed = ws.config.purposes[spec.purpose].consent
    query = select(profiles.c.profile_id).where(profiles.c.order_count > 0)
    for purpose in needed:
        query = query.where(profiles.c.consented.like(f"%|{purpose}|%"))
    with ws.store.read() as conn:
        found = conn.execute(query.order_by(profiles.c.profile_id).limit(size)).scalars()
        return [f"profile_id:{p}" for p in found]


def _tally(
    ws: Workspace, spec: Placement, arm: str, element: str, customers: list[str]
) -> dict[str, Any]:
    passed, texts = 0, []
    for customer in customers:
        outcome = personalize(
            ws, Request(customer=customer, placement=spec, strategy=arm, record=False)
        )
        written = outcome.elements.get(element)
        if written is not None and written.source == "generated":
            passed += 1
            texts.append(written.text)
    return {"passed": passed, "fell_back": len(customers) - passed, "texts": texts[:3]}
