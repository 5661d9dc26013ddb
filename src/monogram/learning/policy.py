"""Policies that choose a generation strategy for a customer, Personalizer-style:
``choose(bucket) -> (strategy, probability)`` and ``reward(bucket, strategy, value)``.

The default is Thompson sampling with a Beta posterior per (context bucket, strategy) and an
exploration floor: every strategy keeps at least ``floor`` probability, so the logs always
support evaluating other policies later. The probability returned is the one actually used to
sample, estimated from posterior draws and mixed with the floor, so it can be logged as the
propensity.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class ThompsonPolicy:
    def __init__(
        self,
        strategies: list[str],
        *,
        floor: float = 0.02,
        draws: int = 256,
        seed: int | None = None,
    ) -> None:
        if not strategies:
            raise ValueError("a policy needs at least one strategy")
        if not 0 <= floor * len(strategies) < 1:
            raise ValueError("the exploration floor times the number of strategies must be below 1")
        self.strategies = list(strategies)
        self.floor = floor
        self.draws = draws
        self.rng = np.random.default_rng(seed)
        self.successes: dict[str, np.ndarray] = {}
        self.failures: dict[str, np.ndarray] = {}

    def _posterior(self, bucket: str) -> tuple[np.ndarray, np.ndarray]:
        if bucket not in self.successes:
            self.successes[bucket] = np.ones(len(self.strategies))
            self.failures[bucket] = np.ones(len(self.strategies))
        return self.successes[bucket], self.failures[bucket]

    def probabilities(self, bucket: str) -> np.ndarray:
        """P(each strategy is chosen) in this bucket: P(best under the posterior), floored."""
        alpha, beta = self._posterior(bucket)
        samples = self.rng.beta(alpha, beta, size=(self.draws, len(self.strategies)))
        best = np.bincount(samples.argmax(axis=1), minlength=len(self.strategies)) / self.draws
        k = len(self.strategies)
        return (1 - k * self.floor) * best + self.floor

    def choose(self, bucket: str) -> tuple[str, float]:
        probabilities = self.probabilities(bucket)
        index = int(self.rng.choice(len(self.strategies), p=probabilities))
        return self.strategies[index], float(probabilities[index])

    def reward(self, bucket: str, strategy: str, value: float) -> None:
        """Record an outcome in [0, 1] (fractional values update both sides proportionally)."""
        alpha, beta = self._posterior(bucket)
        index = self.strategies.index(strategy)
        value = min(1.0, max(0.0, value))
        alpha[index] += value
        beta[index] += 1.0 - value

    def best(self, bucket: str) -> str:
        alpha, beta = self._posterior(bucket)
        return self.strategies[int(np.argmax(alpha / (alpha + beta)))]

    def state(self) -> dict[str, Any]:
        return {
            "strategies": self.strategies,
            "floor": self.floor,
            "buckets": {
                b: [self.successes[b].tolist(), self.failures[b].tolist()] for b in self.successes
            },
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], seed: int | None = None) -> ThompsonPolicy:
        policy = cls(state["strategies"], floor=state["floor"], seed=seed)
        for bucket, (alpha, beta) in state["buckets"].items():
            policy.successes[bucket] = np.array(alpha, dtype=float)
            policy.failures[bucket] = np.array(beta, dtype=float)
        return policy
