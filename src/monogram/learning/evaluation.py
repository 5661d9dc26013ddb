"""Off-policy evaluation: what would a candidate policy have earned, judged from logs of
another policy's decisions (their propensities make it possible).

IPS, self-normalised IPS and doubly robust estimators, with the effective sample size and
bootstrap percentile intervals. When the logs cannot support an estimate (too few effective
samples, or the candidate choosing what the logger never could), it refuses, saying why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Logs:
    """One row per logged decision: its context bucket (for the doubly robust reward model),
    action, propensity and reward."""

    buckets: np.ndarray  # int, shape (n,)
    actions: np.ndarray  # int, shape (n,)
    propensities: np.ndarray  # float, shape (n,)
    rewards: np.ndarray  # float, shape (n,)


class Unsupported(ValueError):
    """The logs cannot support an estimate for this policy."""


def _reward_model(logs: Logs, n_buckets: int, n_actions: int) -> np.ndarray:
    """Mean logged reward per (bucket, action), shrunk towards the bucket mean (for DR)."""
    model = np.zeros((n_buckets, n_actions))
    for b in range(n_buckets):
        in_bucket = logs.buckets == b
        base = logs.rewards[in_bucket].mean() if in_bucket.any() else logs.rewards.mean()
        for a in range(n_actions):
            mask = in_bucket & (logs.actions == a)
            count = mask.sum()
            model[b, a] = (logs.rewards[mask].sum() + 5 * base) / (count + 5)
    return model


def _estimates(
    logs: Logs, target: np.ndarray, model: np.ndarray
) -> tuple[float, float, float, np.ndarray]:
    rows = np.arange(len(logs.actions))
    weights = target[rows, logs.actions] / logs.propensities
    ips = float(np.mean(weights * logs.rewards))
    snips = float(np.sum(weights * logs.rewards) / max(np.sum(weights), 1e-12))
    direct = np.sum(target * model[logs.buckets], axis=1)
    correction = weights * (logs.rewards - model[logs.buckets, logs.actions])
    dr = float(np.mean(direct + correction))
    return ips, snips, dr, weights


def evaluate(
    logs: Logs,
    target: np.ndarray,
    *,
    boot: int = 300,
    level: float = 0.95,
    min_ess: float = 200.0,
    seed: int = 0,
) -> dict[str, Any]:
    """Estimate the value of a candidate policy from ``logs``: ``target`` holds the candidate's
    probabilities for each logged decision's context, shape (decisions, actions)."""
    if len(logs.actions) == 0:
        raise Unsupported("there are no logged decisions to evaluate from")
    if target.shape[0] != len(logs.actions):
        raise ValueError("target needs one row of probabilities per logged decision")
    if np.any(logs.propensities <= 0):
        raise Unsupported("a logged decision has no propensity; such logs cannot be reweighted")
    n_actions = target.shape[1]
    model = _reward_model(logs, int(logs.buckets.max()) + 1, n_actions)
    ips, snips, dr, weights = _estimates(logs, target, model)
    ess = float(weights.sum() ** 2 / max(np.sum(weights**2), 1e-12))
    if ess < min_ess:
        raise Unsupported(
            f"effective sample size {ess:.0f} is below {min_ess:.0f}: the candidate differs too "
            "much from the logging policy for these logs to say what it would earn"
        )
    rng = np.random.default_rng(seed)
    samples = []
    n = len(logs.actions)
    for _ in range(boot):
        pick = rng.integers(0, n, n)
        part = Logs(
            logs.buckets[pick], logs.actions[pick], logs.propensities[pick], logs.rewards[pick]
        )
        samples.append(_estimates(part, target[pick], model)[:3])
    table = np.array(samples)
    low, high = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    out: dict[str, Any] = {"n": n, "effective_sample_size": round(ess, 1), "level": level}
    for column, (name, value) in enumerate((("ips", ips), ("snips", snips), ("dr", dr))):
        out[name] = {
            "estimate": value,
            "low": float(np.percentile(table[:, column], low)),
            "high": float(np.percentile(table[:, column], high)),
        }
    return out


def logs_from_decisions(
    rows: list[Any], strategies: list[str]
) -> tuple[Logs, list[Any], list[str]]:
    """Rewarded decisions of one placement as ``Logs``, with the rows kept (in the same order,
    for a candidate's probabilities per row) and the bucket names in index order."""
    import orjson

    buckets: list[str] = []
    index: dict[str, int] = {}
    kept: list[Any] = []
    b, a, p, r = [], [], [], []
    for row in rows:
        if row.chosen not in strategies or not row.probability:
            continue
        bucket = orjson.loads(row.features).get("bucket", "all")
        if bucket not in index:
            index[bucket] = len(buckets)
            buckets.append(bucket)
        kept.append(row)
        b.append(index[bucket])
        a.append(strategies.index(row.chosen))
        p.append(float(row.probability))
        r.append(float(row.reward or 0.0))
    logs = Logs(np.array(b, dtype=int), np.array(a, dtype=int), np.array(p), np.array(r))
    return logs, kept, buckets


def evaluate_candidate(
    conn: Any,
    config: Any,
    placement: Any,
    candidate: str = "learned",
    *,
    min_ess: float = 200.0,
) -> dict[str, Any]:
    """Off-policy estimate of a candidate policy for one placement from its rewarded decisions:
    ``learned`` (the stored policy), ``uniform``, ``baseline`` or ``always:STRATEGY``.
    Returns the estimates, or ``{"refused": why}`` when the logs cannot support one."""
    import orjson
    from sqlalchemy import select

    from monogram.core.errors import ValidationError
    from monogram.learning.store import context_of, load_policy
    from monogram.store.tables import decisions

    strategies = [s.name for s in placement.strategies]
    k = len(strategies)
    rows = list(
        conn.execute(
            select(decisions)
            .where(decisions.c.placement == placement.name, decisions.c.rewarded_at.is_not(None))
            .order_by(decisions.c.created_at, decisions.c.id)
        )
    )
    logs, kept, _ = logs_from_decisions(rows, strategies)
    if candidate == "learned":
        policy, _version = load_policy(conn, config, placement)
        seen: dict[bytes, np.ndarray] = {}
        target = np.zeros((len(kept), k))
        for i, row in enumerate(kept):
            context = context_of(row)
            key = orjson.dumps(context, option=orjson.OPT_SORT_KEYS)
            if key not in seen:
                seen[key] = policy.probabilities(context)
            target[i] = seen[key]
    elif candidate == "uniform":
        target = np.full((len(kept), k), 1 / k)
    elif candidate == "baseline" or (
        candidate.startswith("always:") and candidate[7:] in strategies
    ):
        chosen = placement.baseline() if candidate == "baseline" else candidate[7:]
        target = np.zeros((len(kept), k))
        target[:, strategies.index(chosen)] = 1.0
    else:
        raise ValidationError(
            f"policy: learned, uniform, baseline or always:STRATEGY with one of "
            f"{', '.join(strategies)} (got {candidate!r})"
        )
    try:
        result = evaluate(logs, target, min_ess=min_ess)
    except Unsupported as exc:
        return {
            "placement": placement.name,
            "policy": candidate,
            "n": len(kept),
            "refused": str(exc),
        }
    return {"placement": placement.name, "policy": candidate, **result}
