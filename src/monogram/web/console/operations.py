"""Console pages: the review queue, campaigns (dry run, launch with live progress, results)
and learning (the report's charts, off-policy estimates, the policy mode per placement)."""

from __future__ import annotations

import base64
import io
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.responses import JSONResponse, Response

from monogram.campaigns import Campaign, load_campaign, sender_for
from monogram.campaigns.run import Summary, audience, run_campaign
from monogram.content.placements import get_placement
from monogram.core.errors import ConflictError, MonogramError, NotFound, ValidationError
from monogram.delivery import outbox, tracking
from monogram.delivery.channels import channel_from_url
from monogram.learning import proposals, variants
from monogram.learning import store as learning
from monogram.learning.evaluation import evaluate_candidate
from monogram.learning.outcomes import ENGAGEMENT, outcomes_many
from monogram.learning.report import figure, strategy_report, uplift_from
from monogram.quality import review
from monogram.quality.images import creative_variant
from monogram.reviewing import decide_review
from monogram.store.tables import decisions, messages
from monogram.web.console.common import (
    app_held,
    back,
    blocking,
    change_form,
    page,
    render,
    session_of,
)
from monogram.web.console.common import workspace_of as ws_of
from monogram.workspace import Workspace

router = APIRouter()


# -- review queue ---------------------------------------------------------------------------


def queue(ws: Workspace, limit: int = 50) -> list[dict[str, Any]]:
    """The waiting items with their messages (two queries, whatever the number of items)."""
    with ws.store.read() as conn:
        items = review.list_reviews(conn, "pending", limit)
        ids = {item["message_id"] for item in items}
        found = {
            row.id: row for row in conn.execute(select(messages).where(messages.c.id.in_(ids)))
        }
    for item in items:
        message = found[item["message_id"]]
        provenance = orjson.loads(message.provenance)
        elements = orjson.loads(message.elements)
        item["customer"] = message.customer
        item["profile_id"] = message.profile_id
        item["context"] = provenance.get("context_fields", [])
        item["injection"] = provenance.get("injection")
        item["inputs"] = provenance.get("inputs") or {}
        item["others"] = {
            name: element["text"] for name, element in elements.items() if name != item["element"]
        }
        media = (elements.get(item["element"]) or {}).get("media") or {}
        item["images"] = [
            {**image, "url": tracking.image_url(ws.secret(), "", image["name"])}
            for image in media.get("images", [])
        ]
    return items


@router.get("/reviews")
@page
async def review_queue(request: Request) -> Response:
    items = await blocking(queue, ws_of(request))
    return render(request, "reviews.html", session_of(request), active="reviews", items=items)


@router.post("/reviews")
@page
async def review_decide(request: Request) -> Response:
    """One item (approve, edit, reject) or the ticked ones (bulk approve). Edits go through the
    gate first and are kept as preference data; an item decided already says so."""
    form = await request.form()
    await change_form(request)
    ws = ws_of(request)
    reviewer = f"console:{session_of(request).key_name or session_of(request).key_id}"
    action = str(form.get("action") or "")
    if action == "bulk_approve":
        ids = [int(str(v)) for v in form.getlist("review_id") if str(v).isdigit()]
        if not ids:
            raise ValidationError("tick at least one item to approve")
        done, skipped = 0, 0
        for review_id in ids:
            try:
                await blocking(decide_review, ws, review_id, "approve", reviewer)
                done += 1
            except ConflictError:
                skipped += 1
        note = f" ({skipped} were decided already)" if skipped else ""
        return back("/ui/reviews", f"{done} approved{note}")
    try:
        review_id = int(str(form.get("one") or ""))
    except ValueError as exc:
        raise ValidationError("which item? (review id missing)") from exc
    text = str(form.get("text") or "").strip()
    if action == "approve" and text and text != str(form.get("original") or "").strip():
        action = "edit"  # the reviewer changed the text, then approved it
    override = str(form.get("override") or "").strip() or None
    await blocking(
        decide_review,
        ws,
        review_id,
        action,
        reviewer,
        text=text if action == "edit" else None,
        override=override,
        add_to_library=form.get("add_to_library") == "on",
    )
    verb = {"approve": "approved", "edit": "edited and approved", "reject": "rejected"}[action]
    return back("/ui/reviews", f"Item {review_id} {verb}")


# -- campaigns ------------------------------------------------------------------------------


@dataclass
class Run:
    """A campaign run the console started, as its page shows it."""

    name: str
    state: str = "starting"  # starting | running | finished | failed
    total: int | None = None
    done: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    summary: Summary | None = None
    error: str | None = None
    started: float = field(default_factory=time.time)


class Runs:
    """Campaign runs started from the console in this server process, one at a time per
    campaign (the outbox keeps a second process from sending anything twice as well)."""

    def __init__(self) -> None:
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Run | None:
        return self._runs.get(name)

    def start(self, ws: Workspace, spec: Campaign, url: str) -> Run:
        with self._lock:
            current = self._runs.get(spec.name)
            if current and current.state in ("starting", "running"):
                raise ConflictError(
                    f"campaign {spec.name!r} is running already ({current.done} customers so "
                    "far): nothing was started twice"
                )
            run = self._runs[spec.name] = Run(spec.name)
        channel = channel_from_url(
            url,
            sender=sender_for(spec, ws.brand()),
            webhook_secret=os.environ.get("MONOGRAM_WEBHOOK_SECRET"),
        )

        def work() -> None:
            def tick(state: str) -> None:
                run.done += 1
                run.outcomes[state] += 1

            def audience(total: int) -> None:
                run.total, run.state = total, "running"

            try:
                run.summary = run_campaign(ws, spec, channel, progress=tick, on_audience=audience)
                run.state = "finished"
            except MonogramError as exc:
                run.error, run.state = exc.message, "failed"
            except Exception as exc:  # shown on the page; the outbox makes a rerun safe
                run.error, run.state = f"{type(exc).__name__}: {exc}", "failed"

        threading.Thread(target=work, name=f"campaign-{spec.name}", daemon=True).start()
        return run


def runs_of(request: Request) -> Runs:
    runs: Runs = app_held(request, "console_runs", Runs)
    return runs


def campaign_files(ws: Workspace) -> dict[str, Path]:
    folder = ws.home / "campaigns"
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.exists() else {}


def campaign_spec(ws: Workspace, name: str) -> Campaign:
    files = campaign_files(ws)
    for path in files.values():
        spec = load_campaign(path)
        if spec.name == name:
            return spec
    known = ", ".join(sorted(files)) or "none"
    raise NotFound(f"no campaign {name!r} in {ws.home / 'campaigns'} (files: {known})")


def campaign_rows(ws: Workspace) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with ws.store.read() as conn:
        for path in campaign_files(ws).values():
            try:
                spec = load_campaign(path)
            except MonogramError as exc:
                rows.append({"name": path.stem, "problem": exc.message})
                continue
            status = outbox.status(conn, spec.name)
            rows.append({"name": spec.name, "spec": spec, "status": status})
    return rows


@router.get("/campaigns")
@page
async def campaigns(request: Request) -> Response:
    rows = await blocking(campaign_rows, ws_of(request))
    return render(request, "campaigns.html", session_of(request), active="campaigns", rows=rows)


def _channel_url(ws: Workspace, spec: Campaign, asked: str) -> str:
    url = (asked.strip() or spec.channel).format(home=ws.home.resolve(), campaign=spec.name)
    if not url.startswith(("file://", "smtp://", "smtps://", "https://", "http://")):
        raise ValidationError("channel: file:///path.jsonl, smtp://host:port or https://...")
    return url


@router.get("/campaigns/{name}")
@page
async def campaign_page(request: Request, name: str) -> Response:
    """The campaign; right after a launch (`watch`) its progress, then its results, even when
    the run finished before this page was asked for."""
    ws = ws_of(request)
    spec = await blocking(campaign_spec, ws, name)
    run = runs_of(request).get(name)
    return render(
        request,
        "campaign.html",
        session_of(request),
        active="campaigns",
        spec=spec,
        run=run,
        watch=request.query_params.get("watch") == "1",
        channel=_channel_url(ws, spec, ""),
        plan=None,
    )


@router.post("/campaigns/{name}/dry-run")
@page
async def campaign_dry_run(request: Request, name: str) -> Response:
    """Who is eligible, suppressed or held out (nothing logged, written or sent), and the
    content for the first customers of the audience (recorded nowhere)."""
    await change_form(request)
    ws = ws_of(request)
    spec = await blocking(campaign_spec, ws, name)
    channel = channel_from_url(_channel_url(ws, spec, ""), sender=sender_for(spec, ws.brand()))
    summary = await blocking(run_campaign, ws, spec, channel, dry_run=True)
    first = await blocking(audience, ws, spec, 3)
    return render(
        request,
        "campaign.html",
        session_of(request),
        active="campaigns",
        spec=spec,
        run=runs_of(request).get(name),
        channel=_channel_url(ws, spec, ""),
        plan=summary,
        sample=",".join(f"profile_id:{pid}" for pid in first),
    )


@router.post("/campaigns/{name}/run")
@page
async def campaign_launch(request: Request, name: str) -> Response:
    form = await change_form(request)
    ws = ws_of(request)
    spec = await blocking(campaign_spec, ws, name)
    url = _channel_url(ws, spec, str(form.get("channel") or ""))
    runs_of(request).start(ws, spec, url)
    return back(f"/ui/campaigns/{name}?watch=1", f"Campaign {name} started to {url}")


@router.get("/campaigns/{name}/progress")
@page
async def campaign_progress(request: Request, name: str) -> Response:
    run = runs_of(request).get(name)
    if run is None:
        return JSONResponse({"state": "none", "done": 0, "total": None})
    return JSONResponse(
        {
            "state": run.state,
            "done": run.done,
            "total": run.total,
            "outcomes": dict(run.outcomes),
            "error": run.error,
        }
    )


def campaign_results(ws: Workspace, name: str) -> dict[str, Any]:
    """Sent, suppressed, capped, held out, fell back; opens, clicks, conversions and revenue;
    uplift against the holdout, per strategy and per segment (one read of the decisions and
    one of their outcomes)."""
    window = timedelta(hours=72)
    columns = [
        decisions.c.id,
        decisions.c.profile_id,
        decisions.c.created_at,
        decisions.c.holdout,
        decisions.c.chosen,
        decisions.c.features,
        decisions.c.message_id,
        decisions.c.placement,
    ]
    with ws.store.read() as conn:
        status = outbox.status(conn, name)
        fallbacks = outbox.fallbacks(conn, name)
        rows = list(conn.execute(select(*columns).where(decisions.c.campaign == name)))
        followed = outcomes_many(conn, rows, window)
        creatives = _creatives(conn, ws, rows)
    by_strategy: dict[str, Counter[str]] = {}
    by_segment: dict[str, Counter[str]] = {}
    by_creative: dict[str, Counter[str]] = {}
    groups = {outcome: {True: [0, 0], False: [0, 0]} for outcome in ("converted", "clicked")}
    for row in rows:
        seen, value = followed[row.id]
        strategy = "holdout" if row.holdout else str(row.chosen)
        bucket = orjson.loads(row.features).get("bucket", "all")
        tables = [(by_strategy, strategy), (by_segment, bucket)]
        if row.message_id in creatives:
            tables.append((by_creative, creatives[row.message_id]))
        for table, key in tables:
            counts = table.setdefault(key, Counter())
            counts["decisions"] += 1
            counts.update(seen)
            if "converted" in seen:
                counts["revenue_cents"] += round(value * 100)
        for outcome, group in groups.items():
            group[bool(row.holdout)][0] += int(outcome in seen)
            group[bool(row.holdout)][1] += 1
    lift = {o: uplift_from(name, o, g[False], g[True]) for o, g in groups.items()}
    return {
        "status": status,
        "reasons": dict(status["reasons"]),
        "fallbacks": fallbacks,
        "by_strategy": by_strategy,
        "by_segment": by_segment,
        "by_creative": by_creative,
        "uplift": lift["converted"],
        "click_uplift": lift["clicked"],
        "outcome_names": [
            *ENGAGEMENT.values(),
            "converted",
            "replied",
            "positive_reply",
            "negative_reply",
        ],
    }


def _creatives(conn: Any, ws: Workspace, rows: list[Any]) -> dict[str, str]:
    """Each message's creative variant, when the campaign's placement has a creative."""
    placements = ws.placements()
    with_images = {
        p for p in {r.placement for r in rows} if p in placements and placements[p].images()
    }
    ids = [r.message_id for r in rows if r.message_id and r.placement in with_images]
    out: dict[str, str] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        query = select(messages.c.id, messages.c.elements).where(messages.c.id.in_(chunk))
        for message_id, elements in conn.execute(query):
            variant = creative_variant(orjson.loads(elements))
            if variant is not None:
                out[message_id] = variant
    return out


@router.get("/campaigns/{name}/results")
@page
async def campaign_results_page(request: Request, name: str) -> Response:
    data = await blocking(campaign_results, ws_of(request), name)
    return render(
        request,
        "results.html",
        session_of(request),
        active="campaigns",
        name=name,
        run=runs_of(request).get(name),
        **data,
    )


# -- learning -------------------------------------------------------------------------------


def learning_data(ws: Workspace) -> dict[str, Any]:
    import matplotlib.pyplot as plt

    placements = ws.placements()
    with ws.store.read() as conn:
        rows = strategy_report(conn)
        modes = {name: learning.policy_mode(conn, ws.config, name) for name in placements}
        estimates = {}
        for name, spec in placements.items():
            if len(spec.strategies) > 1:
                estimates[name] = evaluate_candidate(conn, ws.config, spec, "learned")
        waiting = proposals.listed(conn, "proposed")
        retired = variants.list_retired(conn)
    chart = None
    if rows:
        fig = figure(rows)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        plt.close(fig)
        chart = base64.b64encode(buffer.getvalue()).decode()
    return {
        "rows": rows,
        "modes": modes,
        "estimates": estimates,
        "chart": chart,
        "proposals": waiting,
        "retired": retired,
    }


@router.get("/learning")
@page
async def learning_page(request: Request) -> Response:
    data = await blocking(learning_data, ws_of(request))
    return render(
        request,
        "learning.html",
        session_of(request),
        active="learning",
        default_mode=ws_of(request).config.learning.policy,
        **data,
    )


@router.post("/learning/{placement}/mode")
@page
async def learning_mode(request: Request, placement: str) -> Response:
    """Switch what serves for a placement. Serving the learned policy needs a confirmation."""
    form = await change_form(request)
    ws = ws_of(request)
    get_placement(ws.placements(), placement)
    mode = str(form.get("mode") or "")
    if mode == "learned" and form.get("confirm") != "yes":
        raise ValidationError(
            "switching to the learned policy changes what customers get: tick the confirmation"
        )
    who = f"console:{session_of(request).key_name or session_of(request).key_id}"

    def apply() -> None:
        with ws.store.write() as conn:
            learning.set_policy_mode(conn, placement, mode, who)

    await blocking(apply)
    return back("/ui/learning", f"{placement} now serves the {mode} policy")


@router.post("/learning/proposals/{proposal_id}")
@page
async def learning_proposal(request: Request, proposal_id: int) -> Response:
    """Approve (the variant goes live as a learning arm) or reject a proposed prompt variant."""
    form = await change_form(request)
    action = str(form.get("action") or "")
    who = f"console:{session_of(request).key_name or session_of(request).key_id}"
    note = str(form.get("note") or "")
    ws = ws_of(request)
    decided = await blocking(proposals.decide, ws.store, proposal_id, action, who, note)
    return back("/ui/learning", f"Proposal {proposal_id}: {decided['status']}")


@router.post("/learning/revive")
@page
async def learning_revive(request: Request) -> Response:
    """Bring a retired arm back into a segment's choice."""
    form = await change_form(request)
    placement, strategy = str(form.get("placement") or ""), str(form.get("strategy") or "")
    segment = str(form.get("segment") or "") or None
    await blocking(variants.revive, ws_of(request).store, placement, strategy, segment)
    return back("/ui/learning", f"{placement}/{strategy} is back in {segment or 'every segment'}")
