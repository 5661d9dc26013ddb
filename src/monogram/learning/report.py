"""Reports: uplift of treated over held-out customers with a confidence interval and a
significance test, and strategy performance per segment (context bucket), overall and over
time, as tables, PNG/SVG charts (matplotlib) and a self-contained HTML page."""

from __future__ import annotations

import base64
import io
import math
from collections import defaultdict
from datetime import datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

import orjson
from scipy import stats
from sqlalchemy import Connection, select

from monogram.core.clock import to_utc
from monogram.core.errors import ValidationError
from monogram.learning.outcomes import outcomes_many
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
    made = list(conn.execute(select(decisions).where(decisions.c.campaign == campaign)))
    followed = outcomes_many(conn, made, timedelta(hours=window_hours))
    counts = {True: [0, 0], False: [0, 0]}  # holdout -> [successes, n]
    for row in made:
        counts[bool(row.holdout)][0] += int(outcome in followed[row.id][0])
        counts[bool(row.holdout)][1] += 1
    return uplift_from(campaign, outcome, counts[False], counts[True])


def uplift_from(campaign: str, outcome: str, treated: list[int], held: list[int]) -> dict[str, Any]:
    """The uplift from ``[successes, n]`` of treated and held-out customers."""
    (ts, tn), (hs, hn) = treated, held
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


def _period(moment: datetime, by: str) -> str:
    day = to_utc(moment).date()
    if by == "week":
        day = day - timedelta(days=day.weekday())  # the week's Monday
    return day.isoformat()


def strategy_report(
    conn: Connection, placement: str | None = None, by: str | None = None
) -> list[dict[str, Any]]:
    """Reward rate per (segment bucket, strategy) over rewarded decisions, with Wilson
    intervals; with ``by`` (``day`` or ``week``) also per period, for trends over time."""
    if by not in (None, "day", "week"):
        raise ValidationError(f"by: day or week, not {by!r}")
    cells: dict[tuple[str, str, str, str], list[float]] = defaultdict(list)
    query = select(decisions).where(
        decisions.c.rewarded_at.is_not(None), decisions.c.chosen.is_not(None)
    )
    if placement:
        query = query.where(decisions.c.placement == placement)
    for row in conn.execute(query):
        bucket = orjson.loads(row.features).get("bucket", "all")
        period = _period(row.created_at, by) if by else ""
        cells[(row.placement, bucket, period, row.chosen)].append(float(row.reward or 0.0))
    out = []
    for (place, bucket, period, strategy), values in sorted(cells.items()):
        hits = sum(1 for v in values if v > 0)
        cell: dict[str, Any] = {
            "placement": place,
            "segment": bucket,
            "strategy": strategy,
            "decisions": len(values),
            "reward_rate": hits / len(values),
            "mean_reward": sum(values) / len(values),
            "interval": wilson(hits, len(values)),
        }
        if by:
            cell["period"] = period
        out.append(cell)
    return out


def figure(rows: list[dict[str, Any]], trend: list[dict[str, Any]] | None = None) -> Any:
    """A matplotlib figure: reward rate by strategy per segment (bars with 95% intervals) and,
    given ``trend`` rows (``strategy_report(by=...)``), the same per period as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    segments = sorted({r["segment"] for r in rows}) or ["(no rewarded decisions)"]
    height = 2 if trend else 1
    fig, axes = plt.subplots(
        height, len(segments), figsize=(3.4 * len(segments), 3 * height), squeeze=False
    )
    for axis, segment in zip(axes[0], segments, strict=True):
        data = [r for r in rows if r["segment"] == segment]
        rates = [r["reward_rate"] for r in data]
        errors = [
            [r["reward_rate"] - r["interval"][0] for r in data],
            [r["interval"][1] - r["reward_rate"] for r in data],
        ]
        axis.bar([r["strategy"] for r in data], rates, yerr=errors, color="#4c78a8", capsize=3)
        axis.set_title(segment, fontsize=9)
        axis.set_ylabel("reward rate", fontsize=8)
        axis.tick_params(labelsize=8)
    if trend:
        for axis, segment in zip(axes[1], segments, strict=True):
            data = [r for r in trend if r["segment"] == segment]
            for strategy in sorted({r["strategy"] for r in data}):
                points = sorted(
                    (r["period"], r["reward_rate"]) for r in data if r["strategy"] == strategy
                )
                axis.plot(
                    [p for p, _ in points], [v for _, v in points], marker="o", label=strategy
                )
            axis.set_title(f"{segment} over time", fontsize=9)
            axis.tick_params(labelsize=7, labelrotation=30)
            axis.legend(fontsize=7)
    fig.tight_layout()
    return fig


def save_plot(
    rows: list[dict[str, Any]], path: Path, trend: list[dict[str, Any]] | None = None
) -> None:
    """Write the figure as PNG or SVG (by the file's suffix)."""
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("png", "svg"):
        raise ValidationError(f"--plot: a .png or .svg file, not {path.name!r}")
    import matplotlib.pyplot as plt

    fig = figure(rows, trend)
    fig.savefig(path, format=kind, dpi=110)
    plt.close(fig)


def html_report(
    rows: list[dict[str, Any]], title: str, trend: list[dict[str, Any]] | None = None
) -> str:
    """A self-contained page: the chart (PNG inline) and the table, with the trend if given."""
    import matplotlib.pyplot as plt

    fig = figure(rows, trend)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    image = base64.b64encode(buffer.getvalue()).decode()
    columns = ("placement", "segment", "strategy", "decisions", "reward rate", "95% interval")

    def table(data: list[dict[str, Any]], period: bool) -> str:
        header = "".join(f"<th>{h}</th>" for h in (("period",) if period else ()) + columns)
        body = "".join(
            "<tr>"
            + "".join(
                f"<td>{escape(str(value))}</td>"
                for value in ((r["period"],) if period else ())
                + (
                    r["placement"],
                    r["segment"],
                    r["strategy"],
                    r["decisions"],
                    f"{r['reward_rate']:.3f}",
                    f"{r['interval'][0]:.3f} - {r['interval'][1]:.3f}",
                )
            )
            + "</tr>"
            for r in data
        )
        return f"<table border='1' cellpadding='4'><tr>{header}</tr>{body}</table>"

    chart = f"<img alt='reward rate by strategy and segment' src='data:image/png;base64,{image}'>"
    over_time = f"<h2>Over time</h2>{table(trend, True)}" if trend else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"</head><body><h1>{escape(title)}</h1>{chart}{table(rows, False)}{over_time}"
        "</body></html>"
    )


def template_report(conn: Connection, placements: dict[str, Any]) -> list[dict[str, Any]]:
    """Reward rate per (placement, segment bucket, prompt variant), over the rewarded decisions
    of every strategy that uses the variant, with Wilson intervals; ``winner`` marks the best
    variant of each segment, and ``clear`` says whether its interval is above every other's."""
    cells: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    query = select(
        decisions.c.placement, decisions.c.chosen, decisions.c.features, decisions.c.reward
    )
    query = query.where(decisions.c.rewarded_at.is_not(None), decisions.c.chosen.is_not(None))
    for row in conn.execute(query):
        spec = placements.get(row.placement)
        if spec is None:
            continue
        version = next((s.template_version for s in spec.strategies if s.name == row.chosen), None)
        if not any(v.id == version for e in spec.generated() for v in e.variants):
            version = None
        bucket = orjson.loads(row.features).get("bucket", "all")
        cells[(row.placement, bucket, version or "(element's own)")].append(float(row.reward or 0))
    out: list[dict[str, Any]] = []
    for (place, bucket, variant), values in sorted(cells.items()):
        hits = sum(1 for v in values if v > 0)
        out.append(
            {
                "placement": place,
                "segment": bucket,
                "variant": variant,
                "decisions": len(values),
                "reward_rate": hits / len(values),
                "interval": wilson(hits, len(values)),
                "winner": False,
                "clear": False,
            }
        )
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for cell in out:
        groups[(str(cell["placement"]), str(cell["segment"]))].append(cell)
    for cells_here in groups.values():
        best = max(cells_here, key=lambda c: c["reward_rate"])
        best["winner"] = True
        others = [c for c in cells_here if c is not best]
        best["clear"] = bool(others) and all(best["interval"][0] > c["interval"][1] for c in others)
    return out
