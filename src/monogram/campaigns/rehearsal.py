"""Rehearse the learning loop: a few simulated weeks of campaigns on a copy of a workspace.

Each campaign runs through the real campaign path (audience, eligibility, holdout, the policy's
choice, the decision log) without writing or sending content (a dry run); the customers then
"respond" as a world with known preferences says: opens, clicks and orders arrive as tracked
events carrying the decision id, hours later, and are ingested like any other events. Between
campaigns the clock moves on and ``learn update`` rewards what is past its window. At the end
it reports what the policy learned per context against the world's truth, and how the reward
rate moved from the first campaigns to the last.

It works on a copy of the workspace (its SQLite database is copied with SQLite's backup API),
so simulated orders never reach real profiles; ``in_place`` runs on the workspace itself (for
a scratch PostgreSQL database, say).
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from monogram.campaigns import Campaign
from monogram.campaigns.run import run_campaign
from monogram.cdp import privacy, unify
from monogram.core.clock import frozen_at, iso, now
from monogram.core.errors import ConfigError
from monogram.core.settings import load_yaml_model
from monogram.delivery.channels.file import FileChannel
from monogram.learning import store as learning
from monogram.learning.store import context_of, load_policy
from monogram.learning.update import update_policies
from monogram.store.tables import decisions
from monogram.workspace import Workspace, open_workspace


class Responses(BaseModel):
    """How simulated customers respond: click rates per context value and strategy."""

    model_config = ConfigDict(extra="forbid")
    feature: str = Field(
        default="lifecycle_stage", description="the learning feature that selects the rates"
    )
    open_rate: float = Field(default=0.4, ge=0, le=1)
    conversion_rate: float = Field(default=0.25, ge=0, le=1, description="orders per click")
    baseline_conversion: float = Field(
        default=0.01, ge=0, le=1, description="orders without any message (holdout's baseline)"
    )
    click_rates: dict[str, dict[str, float]] = Field(
        description="feature value -> strategy -> click rate among delivered; `other` for the rest"
    )


DEMO_RESPONSES = Responses(
    click_rates={
        "active": {"warm": 0.06, "practical": 0.14, "select": 0.07, "rule": 0.04},
        "new": {"warm": 0.05, "practical": 0.05, "select": 0.13, "rule": 0.03},
        "at_risk": {"warm": 0.05, "practical": 0.04, "select": 0.06, "rule": 0.13},
        "lapsed": {"warm": 0.12, "practical": 0.03, "select": 0.04, "rule": 0.05},
        "other": {"warm": 0.04, "practical": 0.04, "select": 0.05, "rule": 0.03},
    }
)


def load_responses(path: Path) -> Responses:
    return load_yaml_model(path, Responses)


@contextmanager
def sandbox(ws: Workspace) -> Iterator[Workspace]:
    """A throwaway copy of a SQLite workspace: project files and database."""
    url = ws.settings.resolved_database_url
    if not url.startswith("sqlite:///"):
        raise ConfigError(
            "rehearsal copies a SQLite workspace; with another database, point "
            "MONOGRAM_DATABASE_URL at a scratch copy and rehearse in place (--in-place)"
        )
    source = Path(url.removeprefix("sqlite:///"))
    with tempfile.TemporaryDirectory(prefix="monogram-rehearsal-") as folder:
        home = Path(folder) / "workspace"
        shutil.copytree(
            ws.home,
            home,
            ignore=shutil.ignore_patterns("*.db", "*.db-*", "samples", "outbox", "*.jsonl"),
        )
        target = home / "monogram.db"
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        copy = open_workspace(
            ws.settings.model_copy(update={"home": home, "database_url": None}), create=False
        )
        copy.config = ws.config.model_copy(deep=True)
        try:
            yield copy
        finally:
            copy.close()


def rehearse(
    ws: Workspace,
    *,
    responses: Responses = DEMO_RESPONSES,
    placement: str = "email",
    audience: str = "demo_audience",
    weeks: int = 3,
    per_week: int = 2,
    seed: int = 0,
    in_place: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    def run(target: Workspace) -> dict[str, Any]:
        serving = target.config.learning.policy
        target.config.learning.policy = "learned"  # the rehearsal shows what the policy learns
        try:
            return _rehearse(
                target, responses, placement, audience, weeks, per_week, seed, progress
            )
        finally:
            target.config.learning.policy = serving

    if in_place:
        return run(ws)
    with sandbox(ws) as copy:
        return run(copy)


def _rehearse(
    ws: Workspace,
    responses: Responses,
    placement_name: str,
    audience: str,
    weeks: int,
    per_week: int,
    seed: int,
    progress: Callable[[int, int], None] | None,
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    learning.seed_randomness(seed + 1)  # the policy's own sampling, for a repeatable run
    placement = ws.placements()[placement_name]
    strategies = [s.name for s in placement.strategies]
    for value, rates in responses.click_rates.items():
        if set(rates) != set(strategies):
            raise ConfigError(
                f"click_rates.{value}: give a rate for each of {', '.join(strategies)}"
            )
    if responses.feature not in placement.learning.features:
        raise ConfigError(
            f"feature: {responses.feature!r} is not among placement {placement_name!r}'s "
            f"learning.features ({', '.join(placement.learning.features)})"
        )
    window = timedelta(
        hours=placement.learning.window_hours
        if placement.learning.window_hours is not None
        else ws.config.learning.window_hours
    )
    gap = timedelta(days=7 / per_week)
    if gap <= window:
        raise ConfigError(
            f"per_week: {per_week} campaigns a week leaves less than the reward window "
            f"({window}) between them"
        )
    start = now()
    total = weeks * per_week
    rounds: list[dict[str, Any]] = []
    for index in range(total):
        at = start + index * gap
        name = f"rehearsal-{index + 1:02d}"
        spec = Campaign(name=name, placement=placement_name, audience=audience, holdout=0.1)
        with frozen_at(at):
            summary = run_campaign(
                ws, spec, FileChannel(ws.home / "unused.jsonl"), decide_only=True
            )
        with frozen_at(at + gap - timedelta(minutes=1)):  # responses are in; learn from them
            rounds.append(_respond(ws, responses, name, at, rng) | {"audience": summary.audience})
            update_policies(ws)
        if progress:
            progress(index + 1, total)
    with ws.store.read() as conn:
        policy, version = load_policy(conn, ws.config, placement)
        seen: dict[str, Counter[bytes]] = defaultdict(Counter)  # value -> contexts logged
        for row in conn.execute(
            select(decisions.c.features).where(
                decisions.c.campaign.like("rehearsal-%"), decisions.c.holdout.is_(False)
            )
        ):
            features = orjson.loads(row.features).get("features") or {}
            key = orjson.dumps(features, option=orjson.OPT_SORT_KEYS)
            seen[str(features.get(responses.feature))][key] += 1
    learned = {}
    for value, contexts in sorted(seen.items(), key=lambda item: -item[1].total()):
        found = responses.click_rates.get(value) or responses.click_rates.get("other")
        if found is None:
            continue
        rates = found
        typical = orjson.loads(contexts.most_common(1)[0][0])
        learned[value] = {
            "true": max(rates, key=lambda s: rates[s]),
            "learned": policy.best(typical),
            "decisions": contexts.total(),
        }
    return {
        "campaigns": rounds,
        "policy_version": version,
        "best_strategy_per_context": learned,
        "feature": responses.feature,
    }


def _respond(
    ws: Workspace, responses: Responses, campaign: str, at: Any, rng: np.random.Generator
) -> dict[str, Any]:
    """Simulated opens, clicks and orders for one campaign's decisions, ingested as events."""
    counts: dict[str, float] = defaultdict(float)
    batch: list[dict[str, Any]] = []
    with ws.store.read() as conn:
        rows = list(conn.execute(select(decisions).where(decisions.c.campaign == campaign)))
        addresses = {r.profile_id: privacy.address_of(conn, r.profile_id) for r in rows}

    def event(address: dict[str, Any], name: str, hours: float, **props: Any) -> None:
        stamp = iso(at + timedelta(hours=hours))
        batch.append(
            {"type": "track", "event": name, "timestamp": stamp, "properties": props, **address}
        )

    for row in rows:
        address = addresses[row.profile_id]
        if address is None:
            continue
        counts["decisions"] += 1
        if row.holdout:
            counts["holdout"] += 1
            if rng.random() < responses.baseline_conversion:
                counts["holdout_orders"] += 1
                event(address, "Order Completed", float(rng.uniform(1, 60)), revenue=60.0)
            continue
        value = context_of(row)
        key = value.get(responses.feature) if isinstance(value, dict) else None
        rates = responses.click_rates.get(str(key)) or responses.click_rates.get("other")
        counts["treated"] += 1
        if rates is None or rng.random() >= responses.open_rate:
            continue
        hours = float(rng.uniform(0.5, 30))
        event(address, "Email Opened", hours, decision_id=row.id)
        if rng.random() < rates[row.chosen] / responses.open_rate:
            counts["clicks"] += 1
            event(address, "Email Link Clicked", hours + 0.1, decision_id=row.id)
            if rng.random() < responses.conversion_rate:
                counts["orders"] += 1
                event(address, "Order Completed", hours + 1, decision_id=row.id, revenue=80.0)
    for start in range(0, len(batch), 500):
        unify.ingest_batch(ws.store, ws.config, batch[start : start + 500], source="rehearsal")
    treated = max(counts["treated"], 1)
    return {
        "campaign": campaign,
        "at": iso(at),
        "decisions": int(counts["decisions"]),
        "click_rate": round(counts["clicks"] / treated, 4),
        "orders": int(counts["orders"]),
        "holdout": int(counts["holdout"]),
        "holdout_orders": int(counts["holdout_orders"]),
    }
