"""`monogram learn update`: turn outcomes into rewards and update each placement's policy.

A decision is rewarded once, after its reward window has passed (late outcomes inside the
window count; outcomes arriving twice count once, since outcomes are a set per decision).
Rewards per outcome come from the placement's ``learning.rewards``, else the project's
``learning.rewards`` (click 1, conversion 5, unsubscribe -5 by default), and are scaled into
[0, 1] for the policy: the sum, divided by the largest reward, clipped to [0, 1] (a click
and a conversion together earn the most a decision can). Outcomes after the
window (and a reward reported again through the API) are not counted.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from monogram.core.clock import iso, now, to_utc
from monogram.learning.outcomes import outcomes
from monogram.learning.store import apply, load_policy, save_policy
from monogram.store.tables import decisions

if TYPE_CHECKING:  # the workspace is a caller's container; this stage does not import it
    from monogram.workspace import Workspace


def scaled(found: set[str], rewards: dict[str, float]) -> float:
    top = max([v for v in rewards.values() if v > 0] or [1.0])
    return min(1.0, max(0.0, sum(rewards.get(name, 0.0) for name in found)) / top)


def update_policies(ws: Workspace, window_hours: float | None = None) -> dict[str, Any]:
    """Reward every decision whose window has passed, per placement, and save each policy."""
    config = ws.config.learning
    placements = ws.placements()
    counts: dict[str, int] = defaultdict(int)
    versions: dict[str, int] = {}
    waiting: dict[str, dict[str, Any]] = {}
    with ws.store.write() as conn:
        rows = conn.execute(
            select(decisions)
            .where(
                decisions.c.rewarded_at.is_(None),
                decisions.c.chosen.is_not(None),
                decisions.c.holdout.is_(False),
            )
            .order_by(decisions.c.created_at, decisions.c.id)
        )
        by_placement: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            by_placement[row.placement].append(row)
        for name, items in by_placement.items():
            if name not in placements:
                continue  # a placement since removed: its decisions wait, unrewarded
            placement = placements[name]
            hours = placement.learning.window_hours
            window = timedelta(hours=config.window_hours if hours is None else hours)
            rewards = placement.learning.rewards or config.rewards
            # Due once the window has passed (or ``window_hours`` when given: 0 rewards every
            # decision now, with the outcomes so far); outcomes count within the window.
            wait = window if window_hours is None else timedelta(hours=window_hours)
            cutoff = now() - wait
            due = [row for row in items if to_utc(row.created_at) <= cutoff]
            later = [row for row in items if to_utc(row.created_at) > cutoff]
            if later:
                waiting[name] = {
                    "decisions": len(later),
                    "window_hours": wait.total_seconds() / 3600,
                    "next_due": iso(min(to_utc(r.created_at) for r in later) + wait),
                }
            if not due:
                continue
            policy, version = load_policy(conn, ws.config, placement, for_update=True)
            for row in due:
                value = scaled(outcomes(conn, row, window, within_window=True), rewards)
                apply(policy, row, value)
                conn.execute(
                    update(decisions)
                    .where(decisions.c.id == row.id)
                    .values(rewarded_at=now(), reward=value, reward_source="outcomes")
                )
                counts[name] += 1
            versions[name] = save_policy(conn, name, policy, version, "update")
    return {"rewarded": dict(counts), "versions": versions, "waiting": waiting}
