"""A customer-response simulator with known ground truth, to check that the policy learns.

The world (YAML) has segments with sizes and true reward rates per strategy, optional noise,
a reward delay and drift. ``simulate`` runs the policy's real ``choose``/``reward`` against it
and reports cumulative reward and regret against the oracle (the best strategy per segment),
uniform random, and the best single strategy.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from monogram.core.errors import ConfigError
from monogram.learning.policy import ThompsonPolicy


class SegmentWorld(BaseModel):
    model_config = ConfigDict(extra="forbid")
    share: float = Field(gt=0)
    rates: dict[str, float]


class Drift(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: float = Field(ge=0, le=1, description="fraction of the rounds when it happens")
    segment: str
    rates: dict[str, float]


class World(BaseModel):
    model_config = ConfigDict(extra="forbid")
    strategies: list[str] = Field(min_length=2)
    segments: dict[str, SegmentWorld] = Field(min_length=1)
    noise: float = Field(default=0.0, ge=0, le=0.2, description="std-dev added to each rate")
    delay: int = Field(default=50, ge=0, description="rounds before a reward arrives")
    drift: Drift | None = None

    @model_validator(mode="after")
    def _rates_cover_strategies(self) -> World:
        for name, segment in self.segments.items():
            if set(segment.rates) != set(self.strategies):
                raise ValueError(f"segment {name!r} must give a rate for every strategy")
        return self


DEFAULT_WORLD = World(
    strategies=["warm", "practical", "select", "rule"],
    segments={
        "practical_buyers": SegmentWorld(
            share=0.35, rates={"warm": 0.04, "practical": 0.09, "select": 0.05, "rule": 0.03}
        ),
        "design_minded": SegmentWorld(
            share=0.25, rates={"warm": 0.08, "practical": 0.03, "select": 0.05, "rule": 0.03}
        ),
        "bargain_hunters": SegmentWorld(
            share=0.25, rates={"warm": 0.03, "practical": 0.04, "select": 0.07, "rule": 0.04}
        ),
        "lapsed": SegmentWorld(
            share=0.15, rates={"warm": 0.03, "practical": 0.03, "select": 0.04, "rule": 0.08}
        ),
    },
    noise=0.0,
    delay=50,
)


def load_world(path: Path | None) -> World:
    if path is None:
        return DEFAULT_WORLD
    try:
        return World.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def simulate(world: World, rounds: int, *, seed: int = 0, floor: float = 0.01) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    policy = ThompsonPolicy(world.strategies, floor=floor, seed=seed + 1)
    names = list(world.segments)
    shares = np.array([world.segments[n].share for n in names])
    shares = shares / shares.sum()
    rates = {n: dict(world.segments[n].rates) for n in names}
    pending: deque[tuple[int, str, str, float]] = deque()
    reward = oracle = uniform = best_single_expected = 0.0
    totals = {s: 0.0 for s in world.strategies}
    for t in range(rounds):
        if world.drift and t == int(world.drift.at * rounds):
            rates[world.drift.segment] = dict(world.drift.rates)
        segment = names[int(rng.choice(len(names), p=shares))]
        truth = rates[segment]
        strategy, _probability = policy.choose(segment)
        rate = truth[strategy] + (rng.normal(0, world.noise) if world.noise else 0.0)
        outcome = float(rng.random() < max(0.0, min(1.0, rate)))
        pending.append((t + world.delay, segment, strategy, outcome))
        while pending and pending[0][0] <= t:
            _, seg, chosen, value = pending.popleft()
            policy.reward(seg, chosen, value)
        reward += truth[strategy]
        oracle += max(truth.values())
        uniform += sum(truth.values()) / len(truth)
        for name in world.strategies:
            totals[name] += truth[name]
    best_single_expected = max(totals.values())
    return {
        "rounds": rounds,
        "reward": round(reward, 2),
        "oracle_reward": round(oracle, 2),
        "uniform_reward": round(uniform, 2),
        "best_single_reward": round(best_single_expected, 2),
        "regret": round(oracle - reward, 2),
        "uniform_regret": round(oracle - uniform, 2),
        "best_single_regret": round(oracle - best_single_expected, 2),
        "best_strategy_per_segment": {
            name: {
                "true": max(rates[name], key=lambda s: rates[name][s]),
                "learned": policy.best(name),
            }
            for name in names
        },
    }


def logged_data(
    world: World, n: int, logging: np.ndarray, *, seed: int = 0
) -> tuple[Any, np.ndarray]:
    """Logs of ``n`` decisions made by a ``logging`` policy (probabilities per segment and
    strategy), with the true reward rates (segments x strategies) to judge estimates by."""
    from monogram.learning.evaluation import Logs

    rng = np.random.default_rng(seed)
    names = list(world.segments)
    shares = np.array([world.segments[s].share for s in names])
    shares = shares / shares.sum()
    rates = np.array([[world.segments[s].rates[a] for a in world.strategies] for s in names])
    buckets = rng.choice(len(names), size=n, p=shares)
    actions = np.array([rng.choice(len(world.strategies), p=logging[b]) for b in buckets])
    rewards = (rng.random(n) < rates[buckets, actions]).astype(float)
    return Logs(buckets, actions, logging[buckets, actions], rewards), rates


def true_value(world: World, target: np.ndarray) -> float:
    names = list(world.segments)
    shares = np.array([world.segments[s].share for s in names])
    shares = shares / shares.sum()
    rates = np.array([[world.segments[s].rates[a] for a in world.strategies] for s in names])
    return float(np.sum(shares[:, None] * target * rates))
