"""A campaign run: audience -> eligibility -> holdout -> strategy -> write and gate -> send.

Resumable and idempotent: each (campaign, customer, placement) has one outbox row whose state
only moves forward, written in its own transaction before the next step starts. Killing the run
at any moment and running it again finishes the campaign: generated drafts are not generated
again (the row holds the message id; the generation cache holds the text) and nothing is sent
twice (a row caught mid-send is not retried). The executor is a thread pool with bounded
concurrency; the interface (``plan_units`` and ``process``) is what a Ray executor would map.
"""

from __future__ import annotations

import hashlib
import html
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import select

from monogram.campaigns import Campaign
from monogram.cdp import context, identity, segments
from monogram.content.placements import get_placement
from monogram.core.clock import now
from monogram.delivery import outbox, tracking
from monogram.delivery.channels import Channel, Outbound
from monogram.learning import decisions
from monogram.learning import store as learning
from monogram.learning.features import customer_features
from monogram.pipeline import personalize
from monogram.quality import review
from monogram.store.tables import decisions as decisions_table
from monogram.store.tables import messages as messages_table
from monogram.store.tables import outbox as outbox_table
from monogram.store.tables import suppressions
from monogram.workspace import Workspace

Progress = Callable[[str], None]
# Maps the per-customer step over the audience and yields each outcome. Any executor that can
# run a Python callable per item (threads here; Ray Data's map later) fits.
Executor = Callable[[Callable[[str], str], list[str]], Iterable[str]]
BODY_ORDER = (
    "greeting",
    "opening",
    "narrative",
    "support_reply",
    "product_description",
    "hero",
    "signoff",
    "footer",
)


@dataclass
class Summary:
    campaign: str
    audience: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    fallback_elements: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "audience": self.audience,
            "outcomes": dict(self.outcomes),
            "reasons": dict(self.reasons),
            "fallback_elements": self.fallback_elements,
            "seconds": round(self.seconds, 2),
        }


def run_campaign(
    ws: Workspace,
    spec: Campaign,
    channel: Channel,
    *,
    dry_run: bool = False,
    limit: int | None = None,
    concurrency: int = 1,
    progress: Progress | None = None,
    on_audience: Callable[[int], None] | None = None,
    executor: Executor | None = None,
) -> Summary:
    started = time.perf_counter()
    summary = Summary(spec.name)
    with ws.store.write() as conn:
        interrupted = outbox.recover_interrupted(conn, spec.name)
    if interrupted:
        summary.reasons["interrupted while sending (not retried)"] += interrupted
    members = audience(ws, spec, limit)
    summary.audience = len(members)
    if on_audience:
        on_audience(len(members))

    def one(profile_id: str) -> str:
        outcome = process(ws, spec, channel, profile_id, dry_run=dry_run)
        if progress:
            progress(outcome)
        return outcome

    run_all = executor or local_executor(concurrency)
    for outcome in run_all(one, members):
        summary.outcomes[outcome] += 1
    with ws.store.read() as conn:
        summary.reasons.update(outbox.status(conn, spec.name)["reasons"])
        summary.fallback_elements = _fallbacks(conn, spec.name)
    summary.seconds = time.perf_counter() - started
    return summary


def local_executor(concurrency: int) -> Executor:
    """The default executor: a bounded thread pool in this process."""

    def run_all(work: Callable[[str], str], profile_ids: list[str]) -> Iterator[str]:
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            yield from pool.map(work, profile_ids)

    return run_all


def _fallbacks(conn: Any, campaign: str) -> dict[str, int]:
    """Generated elements that went out as approved copy instead, by reason."""
    counts: Counter[str] = Counter()
    ids = select(outbox_table.c.message_id).where(
        outbox_table.c.campaign == campaign, outbox_table.c.message_id.is_not(None)
    )
    for (elements,) in conn.execute(
        select(messages_table.c.elements).where(messages_table.c.id.in_(ids))
    ):
        for element in orjson.loads(elements).values():
            if element["source"] == "fallback":
                counts[(element.get("reason") or "fallback").split(":")[0]] += 1
    return dict(counts)


def audience(ws: Workspace, spec: Campaign, limit: int | None) -> list[str]:
    chosen = segments.get_segment(ws.segments(), spec.audience)
    with ws.store.read() as conn:
        return segments.members(conn, chosen, ws.config, limit=limit)


def _roll(*parts: str) -> float:
    return int(hashlib.sha256("|".join(parts).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def process(
    ws: Workspace, spec: Campaign, channel: Channel, profile_id: str, *, dry_run: bool = False
) -> str:
    """Take one customer as far as it can go; returns the outbox state it ended in."""
    placement = get_placement(ws.placements(), spec.placement)
    choosing = placement  # the strategies this campaign lets the policy choose among
    if spec.strategies:
        kept = [s for s in placement.strategies if s.name in spec.strategies]
        choosing = placement.model_copy(update={"strategies": kept})
    with ws.store.write() as conn:
        row = outbox.plan(conn, spec.name, profile_id, spec.placement)
        if row.state in outbox.TERMINAL:
            return str(row.state)
        if row.state == "review":
            # Reviewers may have decided since the last run: a ready message goes out now.
            if review.explain(conn, row.message_id)["status"] != "ready":
                return "review"
            outbox.move(conn, row.id, "approved")
            row = outbox.get(conn, row.idempotency_key)
        if row.state == "planned":
            verdict = _eligibility(ws, conn, spec, placement.purpose, profile_id)
            if verdict:
                outbox.move(conn, row.id, "suppressed", reason=verdict)
                return "suppressed"
            held = _roll(spec.name, profile_id, "holdout") < spec.holdout
            decision = learning.choose(
                conn,
                ws.config,
                choosing,
                customer_features(conn, ws.config, ws.segments(), placement, profile_id),
                profile_id=profile_id,
                key=(spec.name, profile_id),
                campaign=spec.name,
                holdout=held,
                extra={"segment": spec.audience},
            )
            decision_id = decision.decision_id
            if held:
                outbox.move(
                    conn, row.id, "held_out", decision_id=decision_id, reason="holdout group"
                )
                return "held_out"
            outbox.move(conn, row.id, "planned", decision_id=decision_id)
        row = outbox.get(conn, outbox.key(spec.name, profile_id, spec.placement))
    if dry_run:
        return "planned"
    if row.message_id is None:
        with ws.store.read() as conn:
            strategy = decisions_for(conn, row.decision_id)
        draft = personalize(ws, f"profile_id:{profile_id}", placement, strategy=strategy)
        with ws.store.write() as conn:
            decisions.attach_message(conn, row.decision_id, draft.message_id or "")
            state = "review" if any(e.review for e in draft.elements.values()) else "approved"
            outbox.move(
                conn,
                row.id,
                state,
                message_id=draft.message_id,
                reason="waiting for review" if state == "review" else None,
            )
        if state == "review":
            return "review"
    return _send(ws, spec, channel, row.id, profile_id)


def decisions_for(conn: Any, decision_id: str) -> str | None:
    query = select(decisions_table.c.chosen).where(decisions_table.c.id == decision_id)
    chosen = conn.execute(query).scalar()
    return str(chosen) if chosen is not None else None


def _eligibility(
    ws: Workspace, conn: Any, spec: Campaign, purpose: str, profile_id: str
) -> str | None:
    state = context.load_state(conn, profile_id)
    consent = state["consent"]
    for needed in ws.config.purposes[purpose].consent:
        entry = consent.get(needed)
        if not entry or entry[0] is not True:
            return f"no consent: {needed}"
    email = (state["traits"].get("email") or [None])[0]
    if not email:
        return "no email address"
    if _suppressed(conn, profile_id):
        return "suppression list"
    since = now() - timedelta(days=spec.frequency_cap.days)
    if outbox.sent_recently(conn, profile_id, since) >= spec.frequency_cap.max:
        return f"frequency cap: {spec.frequency_cap.max} in {spec.frequency_cap.days} days"
    return None


def _suppressed(conn: Any, profile_id: str) -> bool:
    for ident in identity.identifiers_for(conn, profile_id):
        hit = conn.execute(
            select(suppressions.c.type).where(
                suppressions.c.type == ident["type"], suppressions.c.value == ident["value"]
            )
        ).first()
        if hit:
            return True
    return False


def _send(ws: Workspace, spec: Campaign, channel: Channel, row_id: int, profile_id: str) -> str:
    with ws.store.write() as conn:
        row = conn.execute(select(outbox_table).where(outbox_table.c.id == row_id)).one()
        if row.state != "approved":
            return str(row.state)
        message = review.explain(conn, row.message_id)
        state = context.load_state(conn, profile_id)
        recipient = (state["traits"].get("email") or [""])[0]
        outbox.move(
            conn,
            row_id,
            "sending",
            channel=channel.name,
            recipient=recipient,
            attempts=row.attempts + 1,
        )
    links = tracking.links(
        ws.secret(),
        ws.settings.public_url,
        message_id=message["message_id"],
        decision_id=row.decision_id,
        profile_id=profile_id,
    )

    def tracked(url: str) -> str:
        return tracking.click_url(
            ws.secret(),
            ws.settings.public_url,
            url,
            message_id=message["message_id"],
            decision_id=row.decision_id,
            profile_id=profile_id,
        )

    delivery = channel.send(compose(message, recipient, row.decision_id, links, tracked))
    with ws.store.write() as conn:
        if delivery.status == "sent":
            outbox.move(conn, row_id, "sent", detail=delivery.provider_id)
            return "sent"
        outbox.move(conn, row_id, "failed", reason=f"delivery {delivery.status}: {delivery.detail}")
        return "failed"


def compose(
    message: dict[str, Any],
    recipient: str,
    decision_id: str,
    links: dict[str, str],
    tracked: Callable[[str], str],
) -> Outbound:
    """Text and HTML with a signed unsubscribe link, tracked product links and an open pixel."""
    elements = message["elements"]
    subject = elements.get("subject", {}).get("text") or message["placement"]
    skip = ("subject", "preheader")
    body = [elements[n]["text"] for n in BODY_ORDER if n in elements]
    body += [e["text"] for n, e in elements.items() if n not in BODY_ORDER and n not in skip]
    unsubscribe = links["unsubscribe"]
    text = "\n\n".join(body).replace("{{unsubscribe_url}}", unsubscribe)
    preheader = elements.get("preheader", {}).get("text", "")
    page = "".join(f"<p>{html.escape(part)}</p>" for part in body)
    page = page.replace(
        "{{unsubscribe_url}}", f'<a href="{html.escape(unsubscribe)}">unsubscribe</a>'
    )
    targets = message["provenance"].get("links") or []
    if targets:
        cta = tracked(targets[0])
        text += f"\n\nShop now: {cta}"
        page += f'<p><a href="{html.escape(cta)}">Shop now</a></p>'
    pixel = f'<img src="{html.escape(links["open"])}" width="1" height="1" alt="">'
    page = f'<div style="display:none">{html.escape(preheader)}</div>{page}{pixel}'
    return Outbound(
        message_id=message["message_id"],
        recipient=recipient,
        channel="email",
        subject=subject,
        text=text,
        html=page,
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        data={"decision_id": decision_id, "placement": message["placement"]},
    )
