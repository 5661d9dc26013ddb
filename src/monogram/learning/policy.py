"""Policies that choose a generation strategy for a customer, Personalizer-style:
``choose(context) -> (strategy, probability)`` and ``reward(context, strategy, value)``.

A context is the customer's learning features (``features.Features``): categorical ones form
the *bucket* (``lifecycle_stage=active|segment=runners``); numeric ones only the Vowpal Wabbit
backend uses. Two backends share the ``Policy`` protocol:

* ``ThompsonPolicy`` (default, numpy): a Beta posterior per (bucket, strategy);
* ``VowpalPolicy`` (``learning.backend: vw``): Vowpal Wabbit's ``cb_explore_adf``, a contextual
  bandit over shared customer features and per-strategy features (kind, tone, emphasis, length).

Both keep an exploration floor: every strategy keeps at least ``floor`` probability, so the
logs always support evaluating other policies later. The probability returned is the one
actually used to sample, so it can be logged as the propensity.
"""

from __future__ import annotations

import base64
import math
import os
import re
import tempfile
import weakref
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from monogram.core.errors import ConfigError
from monogram.core.plugins import Registry

Features = Mapping[str, str | float]
Context = str | Features  # a bucket name, or the features it is made of


def bucket(context: Context) -> str:
    """The categorical part of a context as one stable key (``all`` when there is none)."""
    if isinstance(context, str):
        return context
    parts = [f"{k}={v}" for k, v in context.items() if isinstance(v, str)]
    return "|".join(parts) or "all"


class Policy(Protocol):
    backend: str
    strategies: list[str]
    floor: float

    def probabilities(self, context: Context) -> np.ndarray: ...

    def choose(self, context: Context) -> tuple[str, float]: ...

    def reward(
        self, context: Context, strategy: str, value: float, probability: float | None = None
    ) -> None: ...

    def best(self, context: Context) -> str: ...

    def state(self) -> dict[str, Any]: ...


def _sample(policy: ThompsonPolicy | VowpalPolicy, context: Context) -> tuple[str, float]:
    """Draw a strategy from the policy's probabilities; returns it with its probability."""
    probabilities = policy.probabilities(context)
    index = int(policy.rng.choice(len(policy.strategies), p=probabilities))
    return policy.strategies[index], float(probabilities[index])


def _check_floor(strategies: list[str], floor: float) -> None:
    if not strategies:
        raise ValueError("a policy needs at least one strategy")
    if not 0 <= floor * len(strategies) < 1:
        raise ValueError("the exploration floor times the number of strategies must be below 1")


class ThompsonPolicy:
    backend = "thompson"

    def __init__(
        self,
        strategies: list[str],
        *,
        floor: float = 0.02,
        draws: int = 256,
        seed: int | None = None,
    ) -> None:
        _check_floor(strategies, floor)
        self.strategies = list(strategies)
        self.floor = floor
        self.draws = draws
        self.rng = np.random.default_rng(seed)
        self.successes: dict[str, np.ndarray] = {}
        self.failures: dict[str, np.ndarray] = {}

    def _posterior(self, context: Context) -> tuple[np.ndarray, np.ndarray]:
        key = bucket(context)
        if key not in self.successes:
            self.successes[key] = np.ones(len(self.strategies))
            self.failures[key] = np.ones(len(self.strategies))
        return self.successes[key], self.failures[key]

    def probabilities(self, context: Context) -> np.ndarray:
        """P(each strategy is chosen) in this bucket: P(best under the posterior), floored."""
        alpha, beta = self._posterior(context)
        samples = self.rng.beta(alpha, beta, size=(self.draws, len(self.strategies)))
        best = np.bincount(samples.argmax(axis=1), minlength=len(self.strategies)) / self.draws
        k = len(self.strategies)
        return (1 - k * self.floor) * best + self.floor

    def choose(self, context: Context) -> tuple[str, float]:
        return _sample(self, context)

    def reward(
        self, context: Context, strategy: str, value: float, probability: float | None = None
    ) -> None:
        """Record an outcome in [0, 1] (fractional values update both sides proportionally)."""
        alpha, beta = self._posterior(context)
        index = self.strategies.index(strategy)
        value = min(1.0, max(0.0, value))
        alpha[index] += value
        beta[index] += 1.0 - value

    def best(self, context: Context) -> str:
        alpha, beta = self._posterior(context)
        return self.strategies[int(np.argmax(alpha / (alpha + beta)))]

    def state(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "strategies": self.strategies,
            "floor": self.floor,
            "buckets": {
                b: [self.successes[b].tolist(), self.failures[b].tolist()] for b in self.successes
            },
        }

    def adopt(self, old: ThompsonPolicy) -> None:
        """Carry over what ``old`` learned about strategies this policy still has."""
        for key in old.successes:
            alpha, beta = self._posterior(key)
            for index, name in enumerate(self.strategies):
                if name in old.strategies:
                    alpha[index] = old.successes[key][old.strategies.index(name)]
                    beta[index] = old.failures[key][old.strategies.index(name)]

    @classmethod
    def from_state(cls, state: dict[str, Any], seed: int | None = None) -> ThompsonPolicy:
        policy = cls(state["strategies"], floor=state["floor"], seed=seed)
        for key, (alpha, beta) in state["buckets"].items():
            policy.successes[key] = np.array(alpha, dtype=float)
            policy.failures[key] = np.array(beta, dtype=float)
        return policy


_UNSAFE = re.compile(r"[\s|:]+")


def _token(value: Any) -> str:
    return _UNSAFE.sub("_", str(value)) or "_"


def _scaled(value: float) -> float:
    """Counts and amounts spread over orders of magnitude: log-scale them (sign kept)."""
    return math.copysign(math.log1p(abs(value)), value)


class VowpalPolicy:
    """Vowpal Wabbit ``cb_explore_adf`` with epsilon-greedy exploration: epsilon is the floor
    times the number of strategies, so each strategy keeps at least ``floor``. Customer
    features are shared (categorical as indicators, numeric log-scaled); each strategy is an
    action with its own features, crossed with the customer's (``-q UA``)."""

    backend = "vw"

    def __init__(
        self,
        strategies: list[str],
        *,
        floor: float = 0.02,
        actions: Mapping[str, Mapping[str, str]] | None = None,
        seed: int | None = None,
        model: bytes | None = None,
        args: str = "--cb_type ips -l 0.05",
    ) -> None:
        _check_floor(strategies, floor)
        try:
            import vowpalwabbit
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ConfigError(
                "learning.backend vw needs Vowpal Wabbit: pip install 'monogram[vw]'"
            ) from exc
        self.strategies = list(strategies)
        self.floor = floor
        self.actions = {s: dict((actions or {}).get(s, {})) for s in strategies}
        self.rng = np.random.default_rng(seed)
        epsilon = floor * len(strategies)
        self.args = args
        options = f"--cb_explore_adf --epsilon {epsilon} -q UA --quiet --random_seed {seed or 0}"
        if model is None:
            self._vw = vowpalwabbit.Workspace(f"{options} {args}", enable_logging=False)
        else:
            with tempfile.NamedTemporaryFile(suffix=".vw", delete=False) as handle:
                handle.write(model)
            try:
                self._vw = vowpalwabbit.Workspace(
                    f"--quiet -i {handle.name} --epsilon {epsilon} {args}", enable_logging=False
                )
            finally:
                os.unlink(handle.name)
        # Finish the workspace while the interpreter is whole (its own __del__ can run after
        # the modules it needs are gone at exit, and then complains).
        weakref.finalize(self, self._vw.finish)

    def _shared(self, context: Context) -> str:
        if isinstance(context, str):
            context = {"bucket": context}
        parts = []
        for name, value in context.items():
            if isinstance(value, str):
                parts.append(f"{_token(name)}={_token(value)}")
            elif value is not None:
                parts.append(f"{_token(name)}:{_scaled(float(value)):.6g}")
        return "shared |U " + " ".join(parts)

    def _action(self, strategy: str) -> str:
        extra = " ".join(f"{_token(k)}={_token(v)}" for k, v in self.actions[strategy].items())
        return f"|A s={_token(strategy)} {extra}".rstrip()

    def _examples(self, context: Context, label: str | None = None, at: int = -1) -> list[str]:
        lines = [self._shared(context)]
        for index, strategy in enumerate(self.strategies):
            prefix = f"{label} " if index == at and label else ""
            lines.append(prefix + self._action(strategy))
        return lines

    def probabilities(self, context: Context) -> np.ndarray:
        pmf = np.array(self._vw.predict(self._examples(context)), dtype=float)
        normalised: np.ndarray = pmf / pmf.sum()
        return normalised

    def choose(self, context: Context) -> tuple[str, float]:
        return _sample(self, context)

    def reward(
        self, context: Context, strategy: str, value: float, probability: float | None = None
    ) -> None:
        """Learn from an outcome in [0, 1] (VW minimises cost: the cost is minus the reward);
        ``probability`` is the propensity logged when the strategy was chosen."""
        index = self.strategies.index(strategy)
        p = probability if probability else float(self.probabilities(context)[index])
        cost = -min(1.0, max(0.0, value))
        self._vw.learn(self._examples(context, f"0:{cost}:{max(p, 1e-6)}", index))

    def best(self, context: Context) -> str:
        return self.strategies[int(np.argmax(self.probabilities(context)))]

    def state(self) -> dict[str, Any]:
        with tempfile.NamedTemporaryFile(suffix=".vw", delete=False) as handle:
            path = handle.name
        try:
            self._vw.save(path)
            with open(path, "rb") as model:
                data = model.read()
        finally:
            os.unlink(path)
        return {
            "backend": self.backend,
            "strategies": self.strategies,
            "floor": self.floor,
            "actions": self.actions,
            "args": self.args,
            "model": base64.b64encode(data).decode(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], seed: int | None = None) -> VowpalPolicy:
        return cls(
            state["strategies"],
            floor=state["floor"],
            actions=state.get("actions"),
            seed=seed,
            model=base64.b64decode(state["model"]),
            args=state.get("args", ""),
        )


# Learning backends by name (``learning.backend``); a plug-in registers a class with the
# constructor ``(strategies, *, floor, actions, seed, args)`` and ``from_state(state, seed)``
# under the ``monogram.policies`` entry-point group.
POLICIES = Registry(
    "monogram.policies",
    "learning backend",
    {
        "thompson": "monogram.learning.policy:ThompsonPolicy",
        "vw": "monogram.learning.policy:VowpalPolicy",
    },
)


def make_policy(
    backend: str,
    strategies: list[str],
    *,
    floor: float,
    actions: Mapping[str, Mapping[str, str]] | None = None,
    seed: int | None = None,
    vw_args: str = "",
) -> Policy:
    if backend == "thompson":
        return ThompsonPolicy(strategies, floor=floor, seed=seed)
    factory = POLICIES.get(backend)
    policy: Policy = factory(strategies, floor=floor, actions=actions, seed=seed, args=vw_args)
    return policy


def policy_from_state(state: dict[str, Any], seed: int | None = None) -> Policy:
    factory: Any = POLICIES.get(str(state.get("backend") or "thompson"))
    policy: Policy = factory.from_state(state, seed=seed)
    return policy
