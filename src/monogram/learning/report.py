"""Reports: uplift of treated over held-out customers with a confidence interval and a
significance test, and strategy performance per segment (lifecycle bucket)."""

from __future__ import annotations

import base64
import io
import math
from collections import defaultdict
from datetime import timedelta
from typing import Any

import orjson
from scipy import stats
from sqlalchemy import Connection, select

from monogram.learning.outcomes import outcomes
from monogram.store.tables import decisions


def wilson(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    if n == 0:
        return (0.0, 0.0)
    z = stats.norm.ppf(0.5 + level / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # Clamp so rounding can never put the observed rate outside its own interval.
    return (max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half)))


def uplift(
    conn: Connection, campaign: str, outcome: str = "converted", window_hours: float = 72
) -> dict[str, Any]:
    """Treated against held-out conversion rate: difference, 95% interval, Fisher's exact p."""
    window = timedelta(hours=window_hours)
    counts = {True: [0, 0], False: [0, 0]}  # holdout -> [successes, n]
    for row in conn.execute(select(decisions).where(decisions.c.campaign == campaign)):
        hit = outcome in outcomes(conn, row, window)
        counts[bool(row.holdout)][0] += int(hit)
        counts[bool(row.holdout)][1] += 1
    (ts, tn), (hs, hn) = counts[False], counts[True]
    if tn == 0 or hn == 0:
        return {
            "campaign": campaign,
            "outcome": outcome,
            "refused": "needs treated and held-out customers",
        }
    pt, ph = ts / tn, hs / hn
    se = math.sqrt(pt * (1 - pt) / tn + ph * (1 - ph) / hn) or 1e-12
    z = stats.norm.ppf(0.975)
    _, p_value = stats.fisher_exact([[ts, tn - ts], [hs, hn - hs]])
    return {
        "campaign": campaign,
        "outcome": outcome,
        "treated": {"n": tn, "rate": pt, "interval": wilson(ts, tn)},
        "holdout": {"n": hn, "rate": ph, "interval": wilson(hs, hn)},
        "uplift": pt - ph,
        "uplift_interval": (pt - ph - z * se, pt - ph + z * se),
        "p_value": float(p_value),
        "significant": bool(p_value < 0.05),
    }


def strategy_report(conn: Connection, placement: str | None = None) -> list[dict[str, Any]]:
    """Reward rate per (bucket, strategy) over rewarded decisions, with Wilson intervals."""
    cells: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    query = select(decisions).where(
        decisions.c.rewarded_at.is_not(None), decisions.c.chosen.is_not(None)
    )
    if placement:
        query = query.where(decisions.c.placement == placement)
    for row in conn.execute(query):
        bucket = orjson.loads(row.features).get("bucket", "all")
        cells[(row.placement, bucket, row.chosen)].append(float(row.reward or 0.0))
    out = []
    for (place, bucket, strategy), values in sorted(cells.items()):
        hits = sum(1 for v in values if v > 0)
        out.append(
            {
                "placement": place,
                "segment": bucket,
                "strategy": strategy,
                "decisions": len(values),
                "reward_rate": hits / len(values),
                "mean_reward": sum(values) / len(values),
                "interval": wilson(hits, len(values)),
            }
        )
    return out


def html_report(rows: list[dict[str, Any]], title: str) -> str:
    """A self-contained page: a table and a bar chart (PNG, matplotlib) per segment."""
    import matplotlib

    matplotlib.use("Agg")
    from html import escape

    import matplotlib.pyplot as plt

    segments = sorted({r["segment"] for r in rows})
    figure, axes = plt.subplots(
        1, max(1, len(segments)), figsize=(3.2 * max(1, len(segments)), 3), squeeze=False
    )
    for axis, segment in zip(axes[0], segments, strict=False):
        data = [r for r in rows if r["segment"] == segment]
        rates = [r["reward_rate"] for r in data]
        errors = [
            [r["reward_rate"] - r["interval"][0] for r in data],
            [r["interval"][1] - r["reward_rate"] for r in data],
        ]
        axis.bar([r["strategy"] for r in data], rates, yerr=errors, color="#4c78a8", capsize=3)
        axis.set_title(segment, fontsize=9)
        axis.tick_params(labelsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    image = base64.b64encode(buffer.getvalue()).decode()
    cells = (
        "<tr>"
        + "".join(
            f"<td>{escape(str(value))}</td>"
            for value in (
                r["placement"],
                r["segment"],
                r["strategy"],
                r["decisions"],
                f"{r['reward_rate']:.3f}",
                f"{r['interval'][0]:.3f} - {r['interval'][1]:.3f}",
            )
        )
        + "</tr>"
        for r in rows
    )
    header = "".join(
        f"<th>{h}</th>"
        for h in ("placement", "segment", "strategy", "decisions", "reward rate", "95% interval")
    )
    chart = f"<img alt='reward rate by strategy and segment' src='data:image/png;base64,{image}'>"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"</head><body><h1>{escape(title)}</h1>{chart}"
        f"<table border='1' cellpadding='4'><tr>{header}</tr>{''.join(cells)}</table></body></html>"
    )
