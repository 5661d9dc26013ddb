"""Policy state per placement, persisted and versioned."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from sqlalchemy import Connection, insert, select, update

from monogram.cdp import context, profiles
from monogram.core.clock import now
from monogram.core.settings import ProjectConfig
from monogram.learning import decisions
from monogram.learning.policy import ThompsonPolicy
from monogram.store.tables import policy_states


def load_policy(
    conn: Connection, placement: str, strategies: list[str], floor: float
) -> tuple[ThompsonPolicy, int]:
    """The stored policy (and its version) for a placement, or a fresh one at version 0."""
    row = conn.execute(select(policy_states).where(policy_states.c.placement == placement)).first()
    if row is None:
        return ThompsonPolicy(strategies, floor=floor), 0
    policy = ThompsonPolicy.from_state(orjson.loads(row.state))
    if policy.strategies != strategies:  # the placement changed: keep what still applies
        fresh = ThompsonPolicy(strategies, floor=floor)
        for bucket in policy.successes:
            alpha, beta = fresh._posterior(bucket)
            for index, name in enumerate(strategies):
                if name in policy.strategies:
                    old = policy.strategies.index(name)
                    alpha[index], beta[index] = (
                        policy.successes[bucket][old],
                        policy.failures[bucket][old],
                    )
        policy = fresh
    return policy, int(row.version)


def save_policy(conn: Connection, placement: str, policy: ThompsonPolicy, version: int) -> int:
    """Write the next version; returns it."""
    state = orjson.dumps(policy.state()).decode()
    if version == 0:
        conn.execute(
            insert(policy_states).values(
                placement=placement, version=1, state=state, updated_at=now()
            )
        )
        return 1
    conn.execute(
        update(policy_states)
        .where(policy_states.c.placement == placement)
        .values(version=version + 1, state=state, updated_at=now())
    )
    return version + 1


@dataclass(frozen=True)
class Choice:
    strategy: str
    probability: float
    policy: str  # the policy that served, with its version
    shadow: str | None  # what the learned policy would have chosen, when it did not serve


def bucket_of(conn: Connection, config: ProjectConfig, profile_id: str) -> str:
    """The context a policy learns per: the customer's lifecycle stage."""
    state = context.load_state(conn, profile_id)
    return str(profiles.summarize(state, config)["lifecycle_stage"])


def choose_strategy(
    conn: Connection,
    config: ProjectConfig,
    placement: str,
    strategies: list[str],
    bucket: str,
    *uniform_key: str,
) -> Choice:
    """The learned policy's choice when ``learning.policy`` is thompson; otherwise a uniform
    choice (reproducible from ``uniform_key``) with the learned one logged as its shadow."""
    policy, version = load_policy(conn, placement, strategies, config.learning.floor)
    learned, learned_p = policy.choose(bucket)
    if config.learning.policy == "thompson":
        return Choice(learned, learned_p, f"thompson-v{version}", None)
    chosen, probability = decisions.uniform_choice(strategies, *uniform_key)
    return Choice(chosen, probability, "uniform", learned)
