"""The lifecycle of learning arms: an arm (a generative strategy, with its prompt variant)
that is worse than the segment's best with high confidence is retired there, with the
evidence kept; a person can revive it. ``learning.store.choose`` leaves retired arms out of a
segment's choice (their logged probability is 0, so estimates stay unbiased); approved copy
(``select``, ``rule``) and the placement's baseline are never retired.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

import orjson
from sqlalchemy import Connection, insert, select, update

from monogram.content.placements import Placement
from monogram.core.clock import now
from monogram.core.errors import NotFound
from monogram.learning.report import wilson
from monogram.store import Store
from monogram.store.tables import decisions, retired_arms


def losers(
    conn: Connection, placements: dict[str, Placement], *, min_decisions: int = 200
) -> list[dict[str, Any]]:
    """Arms whose reward rate's 95% interval lies wholly below the best arm's in a segment,
    both with at least ``min_decisions`` rewarded decisions."""
    cells: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    query = select(
        decisions.c.placement, decisions.c.chosen, decisions.c.features, decisions.c.reward
    )
    query = query.where(decisions.c.rewarded_at.is_not(None), decisions.c.chosen.is_not(None))
    for row in conn.execute(query):
        segment = orjson.loads(row.features).get("bucket", "all")
        cell = cells[(row.placement, segment, row.chosen)]
        cell[0] += int(float(row.reward or 0) > 0)
        cell[1] += 1
    by_segment: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(dict)
    for (placement, segment, arm), counts in cells.items():
        if counts[1] >= min_decisions:
            by_segment[(placement, segment)][arm] = counts
    out = []
    for (placement, segment), arms in sorted(by_segment.items()):
        spec = placements.get(placement)
        if spec is None or len(arms) < 2:
            continue
        intervals = {arm: wilson(hits, n) for arm, (hits, n) in arms.items()}
        best = max(arms, key=lambda a: arms[a][0] / arms[a][1])
        protected = {spec.baseline()} | {s.name for s in spec.strategies if s.kind != "generative"}
        for arm, (hits, n) in sorted(arms.items()):
            if arm == best or arm in protected or intervals[arm][1] >= intervals[best][0]:
                continue
            out.append(
                {
                    "placement": placement,
                    "segment": segment,
                    "strategy": arm,
                    "evidence": {
                        "decisions": n,
                        "reward_rate": round(hits / n, 4),
                        "interval": [round(x, 4) for x in intervals[arm]],
                        "best": best,
                        "best_decisions": arms[best][1],
                        "best_reward_rate": round(arms[best][0] / arms[best][1], 4),
                        "best_interval": [round(x, 4) for x in intervals[best]],
                    },
                }
            )
    return out


def retire(
    store: Store,
    placements: dict[str, Placement],
    *,
    by: str,
    min_decisions: int = 200,
    dry_run: bool = False,
) -> list[dict[str, Any]]:
    """Retire today's losers not retired already; returns them."""
    with store.read() as conn:
        found = losers(conn, placements, min_decisions=min_decisions)
        current = {
            (r.placement, r.segment, r.strategy)
            for r in conn.execute(select(retired_arms).where(retired_arms.c.revived_at.is_(None)))
        }
    fresh = [f for f in found if (f["placement"], f["segment"], f["strategy"]) not in current]
    if fresh and not dry_run:
        with store.write() as conn:
            conn.execute(insert(retired_arms), [{**f, "at": now(), "by": by} for f in fresh])
        _cache.clear()
    return fresh


# Every choice asks which arms are retired: the answer is read once per store every couple of
# seconds (retire and revive in this process clear it at once).
_cache: dict[str, tuple[float, dict[tuple[str, str], set[str]]]] = {}
FRESH_FOR = 2.0


def retired(conn: Connection, placement: str, segment: str) -> set[str]:
    """The arms retired for this placement and segment."""
    key = str(conn.engine.url)
    found = _cache.get(key)
    if found is None or time.monotonic() > found[0]:
        table: dict[tuple[str, str], set[str]] = defaultdict(set)
        query = select(retired_arms.c.placement, retired_arms.c.segment, retired_arms.c.strategy)
        for row in conn.execute(query.where(retired_arms.c.revived_at.is_(None))):
            table[(row.placement, row.segment)].add(row.strategy)
        found = (time.monotonic() + FRESH_FOR, dict(table))
        _cache[key] = found
    return set(found[1].get((placement, segment), set()))


def revive(store: Store, placement: str, strategy: str, segment: str | None = None) -> int:
    """Bring a retired arm back (in one segment, or everywhere it was retired)."""
    condition = [
        retired_arms.c.placement == placement,
        retired_arms.c.strategy == strategy,
        retired_arms.c.revived_at.is_(None),
    ]
    if segment is not None:
        condition.append(retired_arms.c.segment == segment)
    with store.write() as conn:
        count = int(
            conn.execute(update(retired_arms).where(*condition).values(revived_at=now())).rowcount
        )
    _cache.clear()
    if not count:
        raise NotFound(
            f"{placement}: no retired arm {strategy!r}" + (f" in {segment}" if segment else "")
        )
    return count


def list_retired(conn: Connection) -> list[dict[str, Any]]:
    query = (
        select(retired_arms).where(retired_arms.c.revived_at.is_(None)).order_by(retired_arms.c.id)
    )
    return [
        {
            "placement": r.placement,
            "segment": r.segment,
            "strategy": r.strategy,
            "at": r.at,
            "by": r.by,
            "evidence": r.evidence,
        }
        for r in conn.execute(query)
    ]
