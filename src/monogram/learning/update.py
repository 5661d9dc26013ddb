"""`monogram learn update`: turn outcomes into rewards and update each placement's policy.

A decision is rewarded once, after its reward window has passed (late outcomes inside the
window count; outcomes arriving twice count once, since outcomes are a set per decision).
Rewards per outcome come from ``learning.rewards`` (click 1, conversion 5, unsubscribe -5 by
default) and are scaled into [0, 1] for the Beta posterior: the sum, clipped at 0, divided by
the largest reward.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import select, update

from monogram.core.clock import now
from monogram.learning.outcomes import outcomes
from monogram.learning.store import load_policy, save_policy
from monogram.store.tables import decisions
from monogram.workspace import Workspace


def scaled(found: set[str], rewards: dict[str, float]) -> float:
    top = max([v for v in rewards.values() if v > 0] or [1.0])
    return max(0.0, sum(rewards.get(name, 0.0) for name in found)) / top


def update_policies(ws: Workspace, window_hours: float | None = None) -> dict[str, Any]:
    config = ws.config.learning
    window = timedelta(hours=config.window_hours if window_hours is None else window_hours)
    cutoff = now() - window
    counts: dict[str, int] = defaultdict(int)
    versions: dict[str, int] = {}
    with ws.store.write() as conn:
        rows = list(
            conn.execute(
                select(decisions).where(
                    decisions.c.rewarded_at.is_(None),
                    decisions.c.chosen.is_not(None),
                    decisions.c.holdout.is_(False),
                    decisions.c.created_at <= cutoff,
                )
            )
        )
        by_placement: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            by_placement[row.placement].append(row)
        for placement, items in by_placement.items():
            strategies = orjson.loads(items[0].strategies)
            policy, version = load_policy(conn, placement, strategies, config.floor)
            for row in items:
                value = scaled(outcomes(conn, row, window), config.rewards)
                bucket = orjson.loads(row.features).get("bucket", "all")
                if row.chosen in policy.strategies:
                    policy.reward(bucket, row.chosen, value)
                conn.execute(
                    update(decisions)
                    .where(decisions.c.id == row.id)
                    .values(rewarded_at=now(), reward=value)
                )
                counts[placement] += 1
            versions[placement] = save_policy(conn, placement, policy, version)
    return {"rewarded": dict(counts), "versions": versions}
