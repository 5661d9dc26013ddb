"""The strategy policy against a simulated world with known ground truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from monogram.core.errors import ConfigError
from monogram.learning.policy import ThompsonPolicy
from monogram.learning.simulator import DEFAULT_WORLD, load_world, simulate


def test_policy_learns_each_segments_best_strategy_with_low_regret() -> None:
    result = simulate(DEFAULT_WORLD, 50_000, seed=3)
    assert result["regret"] <= 0.30 * result["uniform_regret"]
    for segment, best in result["best_strategy_per_segment"].items():
        assert best["learned"] == best["true"], segment
    assert result["reward"] > result["best_single_reward"] > result["uniform_reward"]


def test_probabilities_are_logged_propensities_with_a_floor() -> None:
    policy = ThompsonPolicy(["a", "b", "c"], floor=0.05, seed=1)
    for _ in range(300):
        policy.reward("x", "a", 1.0)
        policy.reward("x", "b", 0.0)
    probabilities = policy.probabilities("x")
    assert probabilities.sum() == pytest.approx(1.0)
    assert probabilities.min() >= 0.05 - 1e-12
    assert probabilities[0] > 0.85
    chosen = [policy.choose("x")[0] for _ in range(400)]
    assert chosen.count("a") > 300 and chosen.count("c") > 0  # still explores
    restored = ThompsonPolicy.from_state(policy.state())
    assert restored.best("x") == "a"
    np.testing.assert_allclose(restored.successes["x"], policy.successes["x"])


def test_drift_and_world_files(tmp_path: Path) -> None:
    world = DEFAULT_WORLD.model_dump()
    world["drift"] = {
        "at": 0.3,
        "segment": "lapsed",
        "rates": {"warm": 0.1, "practical": 0.02, "select": 0.03, "rule": 0.02},
    }
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(world))
    result = simulate(load_world(path), 30_000, seed=5)
    assert result["best_strategy_per_segment"]["lapsed"]["true"] == "warm"
    path.write_text("strategies: [a, b]\nsegments: {s: {share: 1, rates: {a: 0.1}}}\n")
    with pytest.raises(ConfigError, match="rate for every strategy"):
        load_world(path)


def test_off_policy_estimates_cover_the_truth() -> None:
    from monogram.learning.evaluation import Unsupported, evaluate
    from monogram.learning.simulator import logged_data, true_value

    world = DEFAULT_WORLD
    segments, actions = len(world.segments), len(world.strategies)
    logging = np.full((segments, actions), 1 / actions)  # uniform logging policy
    target = np.full((segments, actions), 0.05)  # a candidate: each segment's best, mostly
    for row, name in enumerate(world.segments):
        rates = world.segments[name].rates
        target[row, world.strategies.index(max(rates, key=rates.get))] = 1 - 0.05 * (actions - 1)
    truth = true_value(world, target)
    covered = {"ips": 0, "snips": 0, "dr": 0}
    runs = 20
    for seed in range(runs):
        logs, _ = logged_data(world, 20_000, logging, seed=seed)
        result = evaluate(logs, target[logs.buckets], boot=200, seed=seed)
        for name in covered:
            covered[name] += result[name]["low"] <= truth <= result[name]["high"]
    assert covered["dr"] / runs >= 0.9 and covered["snips"] / runs >= 0.9, covered
    greedy = np.zeros((segments, actions))
    greedy[:, 0] = 1.0
    narrow_logging = np.full((segments, actions), 0.001)
    narrow_logging[:, 1] = 1 - 0.003
    logs, _ = logged_data(world, 5_000, narrow_logging, seed=1)
    with pytest.raises(Unsupported, match="effective sample size"):
        evaluate(logs, greedy[logs.buckets])
