"""A customer-response simulator with known ground truth, to check that the policy learns.

The world (YAML) has segments with sizes and true reward rates per strategy, optional noise,
a reward delay and drift. ``simulate`` runs the real ``choose`` and ``reward`` paths (decision
log, policy state and versions) against it on a throwaway SQLite store, and reports cumulative
reward and regret against the oracle (the best strategy per segment), uniform random, and the
best single strategy.
"""

from __future__ import annotations

import tempfile
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, select

from monogram.content.placements import Placement
from monogram.core.settings import ProjectConfig, load_yaml_model
from monogram.learning import store as learning
from monogram.learning import variants
from monogram.store import Store, migrate
from monogram.store.tables import decisions


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
    return DEFAULT_WORLD if path is None else load_yaml_model(path, World)


def world_placement(world: World) -> Placement:
    """A placement whose strategies are the world's (``select`` and ``rule`` keep their kind)."""
    kinds = {"select": "select", "rule": "rule"}
    return Placement.model_validate(
        {
            "name": "simulated",
            "channel": "email",
            "purpose": "email_marketing",
            "elements": [
                {
                    "name": "body",
                    "instruction": "Write one sentence.",
                    "fallbacks": [{"id": "body_default", "text": "Hello."}],
                }
            ],
            "strategies": [
                {"name": s, "kind": kinds.get(s, "generative")} for s in world.strategies
            ],
            "learning": {"features": ["segment"], "segments": list(world.segments)},
        }
    )


def simulate(
    world: World,
    rounds: int,
    *,
    seed: int = 0,
    floor: float = 0.01,
    backend: str = "thompson",
    progress: Callable[[int, int], None] | None = None,
    retire_every: int | None = None,
    retire_min: int = 200,
) -> dict[str, Any]:
    """Run ``rounds`` decisions through the real ``choose`` and ``reward_many`` against a
    throwaway SQLite decision log, with rewards arriving ``world.delay`` rounds late. With
    ``retire_every``, arms worse with confidence are retired (``learning.variants``) that
    often, as `monogram learn retire` would on a schedule."""
    with tempfile.TemporaryDirectory(prefix="monogram-sim-") as folder:
        store = Store(f"sqlite:///{Path(folder) / 'simulation.db'}", sqlite_synchronous="OFF")
        try:
            migrate(store)
            return _run(
                store, world, rounds, seed, floor, backend, progress, retire_every, retire_min
            )
        finally:
            store.dispose()


def _run(
    store: Store,
    world: World,
    rounds: int,
    seed: int,
    floor: float,
    backend: str,
    progress: Callable[[int, int], None] | None,
    retire_every: int | None = None,
    retire_min: int = 200,
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    learning.seed_randomness(seed + 1)
    config = ProjectConfig.model_validate(
        {"learning": {"policy": "learned", "floor": floor, "backend": backend}}
    )
    placement = world_placement(world)
    placements = {placement.name: placement}
    names = list(world.segments)
    shares = np.array([world.segments[n].share for n in names])
    shares = shares / shares.sum()
    rates = {n: dict(world.segments[n].rates) for n in names}
    pending: deque[tuple[int, str, float]] = deque()
    reward = oracle = uniform = 0.0
    totals = dict.fromkeys(world.strategies, 0.0)
    chunk = min(max(world.delay, 1), 1000)
    segments = [names[int(i)] for i in rng.choice(len(names), size=rounds, p=shares)]
    drift_at = int(world.drift.at * rounds) if world.drift else -1
    retired: list[dict[str, Any]] = []
    next_retirement = retire_every or rounds + 1
    t = 0
    while t < rounds:
        end = min(rounds, t + chunk)
        with store.write() as conn:
            due = []
            while pending and pending[0][0] <= t:
                _, decision_id, value = pending.popleft()
                due.append((decision_id, value))
            if due:
                learning.reward_many(conn, config, placements, due)
            for step in range(t, end):
                if world.drift and step == drift_at:
                    rates[world.drift.segment] = dict(world.drift.rates)
                segment = segments[step]
                truth = rates[segment]
                decision = learning.choose(
                    conn,
                    config,
                    placement,
                    {"segment": segment},
                    profile_id=f"sim-{step}",
                    key=(str(step),),
                )
                strategy = str(decision.strategy)
                rate = truth[strategy] + (rng.normal(0, world.noise) if world.noise else 0.0)
                outcome = float(rng.random() < max(0.0, min(1.0, rate)))
                pending.append((step + world.delay, decision.decision_id, outcome))
                reward += truth[strategy]
                oracle += max(truth.values())
                uniform += sum(truth.values()) / len(truth)
                for name in world.strategies:
                    totals[name] += truth[name]
        t = end
        if t >= next_retirement:
            for item in variants.retire(
                store, placements, by="simulator", min_decisions=retire_min
            ):
                retired.append({"round": t, "segment": item["segment"], "arm": item["strategy"]})
            next_retirement += retire_every or rounds
        if progress:
            progress(t, rounds)
    with store.read() as conn:
        policy, version = learning.load_policy(conn, config, placement)
        logged = conn.execute(select(func.count()).select_from(decisions)).scalar_one()
    best_single = max(totals.values())
    return {
        "rounds": rounds,
        "backend": backend,
        "reward": round(reward, 2),
        "oracle_reward": round(oracle, 2),
        "uniform_reward": round(uniform, 2),
        "best_single_reward": round(best_single, 2),
        "regret": round(oracle - reward, 2),
        "uniform_regret": round(oracle - uniform, 2),
        "best_single_regret": round(oracle - best_single, 2),
        "decisions_logged": int(logged),
        "retired": retired,
        "policy_version": version,
        "best_strategy_per_segment": {
            name: {
                "true": max(rates[name], key=lambda s: rates[name][s]),
                "learned": policy.best({"segment": name}),
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
