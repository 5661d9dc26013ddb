"""A campaign run: the outbox state machine around the per-customer step.

audience -> eligibility -> (holdout roll) -> step on the executor -> send -> mark.

Resumable and idempotent: each (campaign, customer, placement) has one outbox row whose state
only moves forward, written by this process alone (the single outbox writer) in its own
transaction before the next move. The step (``pipeline.personalize``) runs wherever the
executor puts it, keyed by the row's idempotency key: a rerun reuses the logged decision and
the stored message instead of writing them again. Killing the run at any moment and running it
again finishes the campaign, and nothing is sent twice (a row caught mid-send is not retried).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from monogram.campaigns import Campaign
from monogram.campaigns.executors import Executor, LocalExecutor
from monogram.cdp import profiles, segments
from monogram.content.placements import Placement, get_placement
from monogram.core.clock import now
from monogram.delivery import outbox, replies, tracking
from monogram.delivery.channels import Channel
from monogram.delivery.compose import compose
from monogram.pipeline import Outcome, Request
from monogram.quality import review
from monogram.workspace import Workspace

Progress = Callable[[str], None]


@dataclass
class Summary:
    campaign: str
    audience: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    fallback_elements: dict[str, int] = field(default_factory=dict)
    executor: str = "local"
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "audience": self.audience,
            "outcomes": dict(self.outcomes),
            "reasons": dict(self.reasons),
            "errors": dict(self.errors),
            "fallback_elements": self.fallback_elements,
            "seconds": round(self.seconds, 2),
            "executor": self.executor,
            "warnings": self.warnings,
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
    decide_only: bool = False,
    on_warning: Callable[[str], None] | None = None,
) -> Summary:
    """Run (or resume) ``spec``. ``dry_run`` plans only: who is eligible and who would be held
    out; no decision is logged (nothing learning reads), nothing is written or sent.
    ``decide_only`` logs the strategy decisions and writes nothing (rehearsals: simulated
    responses to the decisions teach the policy)."""
    started = time.perf_counter()
    runner = executor or LocalExecutor(concurrency)
    summary = Summary(spec.name, executor=runner.name)
    placement = get_placement(ws.placements(), spec.placement)
    runner.start(ws)  # an unreachable cluster fails here, before any row is touched
    with ws.store.write() as conn:
        interrupted = outbox.recover_interrupted(conn, spec.name)
    if interrupted:
        summary.reasons["interrupted while sending (not retried)"] += interrupted
    members = audience(ws, spec, limit)
    summary.audience = len(members)
    if on_audience:
        on_audience(len(members))
    summary.warnings = preflight(ws, spec, placement, members)
    for warning in summary.warnings:
        if on_warning:
            on_warning(warning)

    def tally(state: str) -> None:
        summary.outcomes[state] += 1
        if progress:
            progress(state)

    def requests() -> Iterator[Request]:
        for start in range(0, len(members), PREPARE_BATCH):
            chunk = members[start : start + PREPARE_BATCH]
            for planned in prepare(
                ws, spec, placement, channel, chunk, dry_run=dry_run, decide_only=decide_only
            ):
                if isinstance(planned, Request):
                    yield planned
                else:
                    tally(planned)

    try:
        for outcome in runner.map(ws, requests()):
            if outcome.error:
                summary.errors[outcome.error.split(":")[0]] += 1
            tally(finish(ws, spec, channel, outcome, dry_run=decide_only))
    finally:
        runner.close()
    with ws.store.read() as conn:
        summary.reasons.update(outbox.status(conn, spec.name)["reasons"])
        summary.fallback_elements = outbox.fallbacks(conn, spec.name)
    summary.seconds = time.perf_counter() - started
    return summary


def audience(ws: Workspace, spec: Campaign, limit: int | None) -> list[str]:
    chosen = segments.get_segment(ws.segments(), spec.audience)
    with ws.store.read() as conn:
        return segments.members(conn, chosen, ws.config, limit=limit)


# A holdout smaller than this measures nothing: the uplift's interval spans everything.
MIN_HOLDOUT = 100
CONSENT_SAMPLE = 1000


def preflight(ws: Workspace, spec: Campaign, placement: Placement, members: list[str]) -> list[str]:
    """What a marketer should know before the run: a holdout too small to measure, and how
    many of the audience lack the consent the placement's purpose needs (from a sample)."""
    out = []
    held = round(len(members) * spec.holdout)
    if spec.holdout > 0 and held < MIN_HOLDOUT:
        needed = math.ceil(MIN_HOLDOUT / spec.holdout)
        out.append(
            f"holdout {spec.holdout:.0%} of {len(members):,} customers is {held}: too few to "
            f"measure uplift; a {spec.holdout:.0%} holdout needs an audience of at least "
            f"{needed:,} (or set holdout: 0 and measure nothing)"
        )
    needs = ws.config.purposes[placement.purpose].consent
    sample = members[:CONSENT_SAMPLE]
    if sample and needs:
        with ws.store.read() as conn:
            states = profiles.load_states(conn, sample)
        lacking: Counter[str] = Counter()
        for state in states.values():
            lacking.update(_lacking(state, needs))
        for name, count in lacking.most_common():
            share = count / len(sample)
            if share >= 0.1:
                sampled = " (sampled)" if len(members) > len(sample) else ""
                out.append(
                    f"{share:.0%} of the audience{sampled} lack {name!r} consent, which "
                    f"{placement.name!r} ({placement.purpose}) needs: they are suppressed"
                )
    return out


def _roll(*parts: str) -> float:
    return int(hashlib.sha256("|".join(parts).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


# Customers planned and checked in one transaction (a few queries for all of them); the
# executor pulls requests as it works, so a batch is planned only when the last one is taken.
PREPARE_BATCH = 32


def prepare(
    ws: Workspace,
    spec: Campaign,
    placement: Placement,
    channel: Channel,
    profile_ids: list[str],
    *,
    dry_run: bool = False,
    decide_only: bool = False,
) -> Iterator[Request | str]:
    """Move these customers' rows as far as they go without the step: for each, the state it
    ended in, or the request for the step."""
    ready: list[tuple[int, str]] = []  # approved while waiting for review: sent below
    with ws.store.write() as conn:
        rows = outbox.plan_many(conn, spec.name, profile_ids, spec.placement)
        for profile_id, row in list(rows.items()):
            # Reviewers may have decided since the last run: a ready message goes out now.
            if row.state == "review" and review.explain(conn, row.message_id)["status"] == "ready":
                outbox.move(conn, row.id, "approved")
                rows[profile_id] = outbox.get(conn, row.idempotency_key)
        planned = [pid for pid, row in rows.items() if row.state == "planned"]
        # Checked again on a rerun: consent may have changed.
        verdicts = _eligibility(ws, conn, spec, placement.purpose, planned)
        for profile_id, verdict in verdicts.items():
            outbox.move(conn, rows[profile_id].id, "suppressed", reason=verdict)
    for profile_id in profile_ids:
        row = rows[profile_id]
        if profile_id in verdicts:
            yield "suppressed"
            continue
        if row.state in outbox.TERMINAL or row.state == "review":
            yield str(row.state)
            continue
        holdout = _roll(spec.name, profile_id, "holdout") < spec.holdout
        if dry_run:
            yield "planned: holdout" if holdout and row.decision_id is None else "planned"
        elif row.state == "approved" and row.message_id is not None:
            if decide_only:
                yield "planned"
            else:
                ready.append((row.id, profile_id))
        elif decide_only and row.decision_id is not None:
            yield "planned"
        else:
            yield Request(
                customer=f"profile_id:{profile_id}",
                placement=spec.placement,
                strategies=tuple(spec.strategies) or None,
                campaign=spec.name,
                segment=spec.audience,
                holdout=holdout,
                key=row.idempotency_key,
                write=not decide_only,
                surface="campaign",
            )
    for row_id, profile_id in ready:
        yield _send(ws, spec, channel, row_id, profile_id)


def finish(
    ws: Workspace, spec: Campaign, channel: Channel, outcome: Outcome, *, dry_run: bool = False
) -> str:
    """Record what the step did on the customer's row, then send if it is ready."""
    profile_id = outcome.profile_id or outcome.customer.removeprefix("profile_id:")
    with ws.store.write() as conn:
        row = outbox.get(conn, outbox.key(spec.name, profile_id, spec.placement))
        if row.state in outbox.TERMINAL or row.state == "sending":
            return str(row.state)  # another run of this campaign got there first
        if outcome.error:
            outbox.move(conn, row.id, "planned", reason=f"step error: {outcome.error}"[:500])
            return "error"
        if outcome.held_out:
            outbox.move(
                conn, row.id, "held_out", decision_id=outcome.decision_id, reason="holdout group"
            )
            return "held_out"
        if outcome.message_id is None:  # a dry run: the decision is logged, nothing written
            outbox.move(conn, row.id, "planned", decision_id=outcome.decision_id)
            return "planned"
        if outcome.review or dry_run:
            state = "review" if outcome.review else "approved"
            outbox.move(
                conn,
                row.id,
                state,
                decision_id=outcome.decision_id,
                message_id=outcome.message_id,
                reason="waiting for review" if state == "review" else None,
            )
            return state
        # Approved and sent at once: straight to ``sending`` in this transaction.
        sending = _start_sending(
            ws, conn, spec, channel, row, profile_id, outcome.decision_id, outcome.message_id
        )
    return sending if isinstance(sending, str) else _deliver(ws, channel, sending)


def _lacking(state: Any, needs: list[str]) -> list[str]:
    """The consents among ``needs`` this profile has not granted."""
    out = []
    for name in needs:
        entry = state["consent"].get(name)
        if not entry or entry[0] is not True:
            out.append(name)
    return out


def _eligibility(
    ws: Workspace,
    conn: Any,
    spec: Campaign,
    purpose: str,
    profile_ids: list[str],
    states: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Why each of these customers may not be sent to now (those who may are left out);
    ``states`` when the caller has loaded them already."""
    if not profile_ids:
        return {}
    if states is None:
        states = profiles.load_states(conn, profile_ids)
    suppressed = outbox.suppressed_among(conn, profile_ids)
    since = now() - timedelta(days=spec.frequency_cap.days)
    sent = outbox.sent_counts(conn, profile_ids, since)
    needs = ws.config.purposes[purpose].consent
    verdicts = {}
    for profile_id in profile_ids:
        state = states.get(profile_id)
        if state is None:
            verdicts[profile_id] = "profile gone (erased or merged)"
            continue
        missing = _lacking(state, needs)
        if missing:
            verdicts[profile_id] = f"no consent: {missing[0]}"
        elif not (state["traits"].get("email") or [None])[0]:
            verdicts[profile_id] = "no email address"
        elif profile_id in suppressed:
            verdicts[profile_id] = "suppression list"
        elif sent[profile_id] >= spec.frequency_cap.max:
            cap = spec.frequency_cap
            verdicts[profile_id] = f"frequency cap: {cap.max} in {cap.days} days"
    return verdicts


@dataclass
class _Sending:
    row_id: int
    profile_id: str
    decision_id: str | None
    message: dict[str, Any]
    recipient: str


def _send(ws: Workspace, spec: Campaign, channel: Channel, row_id: int, profile_id: str) -> str:
    """Send a row that was approved in review."""
    with ws.store.write() as conn:
        row = outbox.get_by_id(conn, row_id)
        if row.state != "approved":
            return "approved"
        sending = _start_sending(
            ws, conn, spec, channel, row, profile_id, row.decision_id, row.message_id
        )
    return sending if isinstance(sending, str) else _deliver(ws, channel, sending)


def _start_sending(
    ws: Workspace,
    conn: Any,
    spec: Campaign,
    channel: Channel,
    row: Any,
    profile_id: str,
    decision_id: str | None,
    message_id: str,
) -> _Sending | str:
    """Move an approved row to ``sending`` (in the caller's transaction): from here a crash
    leaves it failed, never sent twice. Eligibility is checked again first, by the same rules
    as at planning: a customer who unsubscribed while the message was being written is not
    sent it (the row ends ``suppressed``, and that is returned instead)."""
    states = profiles.load_states(conn, [profile_id])
    purpose = get_placement(ws.placements(), spec.placement).purpose
    why = _eligibility(ws, conn, spec, purpose, [profile_id], states).get(profile_id)
    if why is not None:
        outbox.move(
            conn, row.id, "suppressed", reason=why, decision_id=decision_id, message_id=message_id
        )
        return "suppressed"
    state = states[profile_id]
    message = review.explain(conn, message_id)
    recipient = (state["traits"].get("email") or [""])[0]
    outbox.move(
        conn,
        row.id,
        "sending",
        channel=channel.name,
        recipient=recipient,
        attempts=row.attempts + 1,
        decision_id=decision_id,
        message_id=message_id,
    )
    return _Sending(row.id, profile_id, decision_id, message, recipient)


def _deliver(ws: Workspace, channel: Channel, sending: _Sending) -> str:
    ids = {
        "message_id": sending.message["message_id"],
        "decision_id": sending.decision_id,
        "profile_id": sending.profile_id,
    }
    links = tracking.links(ws.secret(), ws.settings.public_url, **ids)

    def tracked(url: str) -> str:
        return tracking.click_url(ws.secret(), ws.settings.public_url, url, **ids)

    brand = ws.brand()
    outbound = compose(
        sending.message,
        sending.recipient,
        channel.name,
        sending.decision_id,
        links,
        tracked,
        brand=brand.name,
        website=brand.website,
        image_url=lambda name: tracking.image_url(ws.secret(), ws.settings.public_url, name),
    )
    if ws.config.replies.address:
        outbound.headers["Reply-To"] = replies.reply_address(
            ws.secret(), ws.config.replies.address, sending.message["message_id"]
        )
    delivery = channel.send(outbound)
    with ws.store.write() as conn:
        if delivery.status == "sent":
            outbox.move(conn, sending.row_id, "sent", detail=delivery.provider_id)
            return "sent"
        reason = f"delivery {delivery.status}: {delivery.detail}"
        outbox.move(conn, sending.row_id, "failed", reason=reason)
        return "failed"
