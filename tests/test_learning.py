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
