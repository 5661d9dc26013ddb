"""The learning loop's two calls, Personalizer-style, over the decision log:

* ``choose(...) -> Decision``: the strategy for one customer and placement, every strategy's
  probability, and the decision id (logged with the context features and policy version);
* ``reward(decision_id, value)``: an outcome in [0, 1] for a decision, counted once.

Policy state is kept per placement in ``policy_states`` (the latest version) and
``policy_history`` (recent versions, for audit); every update writes the next version.

What serves depends on ``learning.policy``: ``uniform`` (random, reproducible from a key) or
``baseline`` (the placement's baseline strategy, apprentice mode) while the learned policy's own
choice is logged as its shadow; ``learned`` serves the learned policy.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Connection, bindparam, delete, insert, select, update

from monogram.content.placements import Placement
from monogram.core.clock import now
from monogram.core.errors import NotFound, ValidationError
from monogram.core.ids import new_id
from monogram.core.settings import ProjectConfig
from monogram.learning import decisions, variants
from monogram.learning.features import strategy_features
from monogram.learning.policy import Policy, ThompsonPolicy, bucket, make_policy, policy_from_state
from monogram.store.tables import decisions as decisions_table
from monogram.store.tables import policy_history, policy_modes, policy_states

HISTORY = 200  # versions kept per placement in policy_history

# Parsed policies by (database, placement), reused while the stored version is unchanged:
# loading a policy per customer would parse its state (or a Vowpal Wabbit model) every time.
_cache: dict[tuple[str, str], tuple[int, str, Policy]] = {}
_lock = threading.RLock()  # policies are not thread-safe (numpy generators, VW workspaces)
_rng = np.random.default_rng()


def seed_randomness(seed: int) -> None:
    """Make choices and policies' own sampling reproducible in this process (the simulator)."""
    global _rng
    _rng = np.random.default_rng(seed)


def _seed() -> int:
    return int(_rng.integers(2**32))


def _fresh(config: ProjectConfig, placement: Placement) -> Policy:
    return make_policy(
        config.learning.backend,
        [s.name for s in placement.strategies],
        floor=config.learning.floor,
        actions=strategy_features(placement),
        seed=_seed(),
        vw_args=config.learning.vw_args,
    )


def load_policy(
    conn: Connection, config: ProjectConfig, placement: Placement, *, for_update: bool = False
) -> tuple[Policy, int]:
    """The stored policy (and its version) for a placement, or a fresh one at version 0.

    Reads reuse a parsed policy while its version is unchanged; ``for_update`` parses a private
    copy, so a transaction that fails after teaching it leaves the shared one untouched.
    A stored policy of another backend than ``learning.backend`` is set aside (a fresh one
    starts; `monogram learn rebuild` relearns it from the log). When the placement's strategies
    changed, what was learned about the remaining ones is kept."""
    here = policy_states.c.placement == placement.name
    row = conn.execute(
        select(policy_states.c.version, policy_states.c.updated_at).where(here)
    ).first()
    if row is None:
        return _fresh(config, placement), 0
    key = (str(conn.engine.url), placement.name)
    stamp = str(row.updated_at)
    cached = _cache.get(key)
    if not for_update and cached and cached[0] == row.version and cached[1] == stamp:
        policy = cached[2]  # the state (a VW model can be large) is read only when it changed
    else:
        state = conn.execute(select(policy_states.c.state).where(here)).scalar_one()
        policy = policy_from_state(orjson.loads(state), seed=_seed())
        if not for_update:
            _cache[key] = (int(row.version), stamp, policy)
    strategies = [s.name for s in placement.strategies]
    if policy.backend != config.learning.backend:
        return _fresh(config, placement), int(row.version)
    if isinstance(policy, ThompsonPolicy) and config.learning.floor * len(strategies) < 1:
        policy.floor = config.learning.floor  # the configured floor, even for a stored policy
    if policy.strategies != strategies:
        if isinstance(policy, ThompsonPolicy):
            fresh = ThompsonPolicy(strategies, floor=policy.floor)
            fresh.adopt(policy)
            policy = fresh
        else:  # Vowpal Wabbit knows strategies by their features: the model carries over
            state = {**policy.state(), "strategies": strategies}
            policy = policy_from_state({**state, "actions": strategy_features(placement)})
    return policy, int(row.version)


def save_policy(conn: Connection, placement: str, policy: Policy, version: int, reason: str) -> int:
    """Write the next version (and keep it in the history); returns it."""
    state = orjson.dumps(policy.state()).decode()
    at = now()
    current = conn.execute(
        select(policy_states.c.version).where(policy_states.c.placement == placement)
    ).scalar()
    new = max(version, int(current or 0)) + 1
    if current is None:
        conn.execute(
            insert(policy_states).values(
                placement=placement, version=new, state=state, updated_at=at
            )
        )
    else:
        conn.execute(
            update(policy_states)
            .where(policy_states.c.placement == placement)
            .values(version=new, state=state, updated_at=at)
        )
    conn.execute(
        insert(policy_history).values(
            placement=placement,
            version=new,
            backend=policy.backend,
            state=state,
            reason=reason,
            created_at=at,
        )
    )
    conn.execute(
        delete(policy_history).where(
            policy_history.c.placement == placement, policy_history.c.version <= new - HISTORY
        )
    )
    _cache[(str(conn.engine.url), placement)] = (new, str(at), policy)
    return new


@dataclass(frozen=True)
class Decision:
    decision_id: str
    strategy: str | None  # None when the customer is held out
    probability: float | None
    probabilities: dict[str, float]
    policy: str  # the policy that served, with its version
    shadow: str | None  # what the learned policy would have chosen, when it did not serve
    features: dict[str, str | float]
    pending: dict[str, Any] | None = None  # the log row, when the caller writes it later


MODES = ("uniform", "baseline", "learned")


def policy_mode(conn: Connection, config: ProjectConfig, placement: str) -> str:
    """What serves for this placement: the mode set for it (``set_policy_mode``), else
    ``learning.policy``."""
    row = conn.execute(
        select(policy_modes.c.mode).where(policy_modes.c.placement == placement)
    ).first()
    return str(row.mode) if row else config.learning.policy


def set_policy_mode(conn: Connection, placement: str, mode: str, changed_by: str) -> None:
    if mode not in MODES:
        raise ValidationError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    conn.execute(delete(policy_modes).where(policy_modes.c.placement == placement))
    conn.execute(
        insert(policy_modes).values(
            placement=placement, mode=mode, changed_by=changed_by, changed_at=now()
        )
    )


def choose(
    conn: Connection,
    config: ProjectConfig,
    placement: Placement,
    features: Mapping[str, str | float],
    *,
    profile_id: str,
    key: Iterable[str],
    campaign: str | None = None,
    holdout: bool = False,
    extra: Mapping[str, Any] | None = None,
    decision_id: str | None = None,
    fixed: str | None = None,
    log: bool = True,
) -> Decision:
    """Choose a strategy for one customer and log the decision (``key`` makes a uniform choice
    reproducible, so a resumed campaign agrees with itself). With ``decision_id`` the decision
    is logged under that id; if it is in the log already, that decision is returned (a rerun
    agrees with the first run). ``fixed``: the caller chose the strategy; it is logged without
    a propensity (kept out of off-policy estimates and policy updates). ``log=False``: the
    decision is returned with its log row pending; ``log_pending`` writes it (in the caller's
    transaction with the message it chose, so a crash between the two leaves neither)."""
    if decision_id is not None:
        logged_before = decisions.find(conn, decision_id)
        if logged_before is not None:
            return from_row(logged_before)
    strategies = [s.name for s in placement.strategies]
    chosen: str | None = None
    probability: float | None = None
    probabilities: dict[str, float] = {}
    shadow: str | None = None
    label = "holdout"
    if fixed is not None:
        chosen, label = fixed, "fixed"
    elif not holdout:
        policy, version = load_policy(conn, config, placement)
        with _lock:
            learned_p = policy.probabilities(features)
        # Arms retired in this segment (worse with high confidence) are not chosen here.
        out = variants.retired(conn, placement.name, bucket(features)) - {placement.baseline()}
        allowed = [s for s in strategies if s not in out] or strategies
        if len(allowed) < len(strategies):
            keep = np.asarray([s in allowed for s in strategies], dtype=float)
            masked = np.asarray(learned_p, dtype=float) * keep
            learned_p = masked / masked.sum() if masked.sum() > 0 else keep / keep.sum()
        learned = strategies[int(_rng.choice(len(strategies), p=learned_p))]
        mode = policy_mode(conn, config, placement.name)
        if mode == "learned":
            chosen, label = learned, f"{policy.backend}-v{version}"
            probabilities = {s: float(p) for s, p in zip(strategies, learned_p, strict=True)}
        elif mode == "baseline":
            base = placement.baseline()
            chosen = base if base in strategies else strategies[0]
            label, shadow = "baseline", learned
            probabilities = {s: float(s == chosen) for s in strategies}
        else:
            chosen, _ = decisions.uniform_choice(allowed, *key)
            label, shadow = "uniform", learned
            probabilities = {s: (1 / len(allowed) if s in allowed else 0.0) for s in strategies}
        probability = probabilities[chosen]
    logged = {"bucket": bucket(features), "features": dict(features), "shadow": shadow}
    row: dict[str, Any] = dict(
        profile_id=profile_id,
        placement=placement.name,
        campaign=campaign,
        strategies=strategies,
        chosen=chosen,
        probability=probability,
        probabilities=probabilities or None,
        policy=label,
        features={**logged, **(extra or {})},
        holdout=holdout,
        decision_id=decision_id or new_id("dec"),
    )
    made = Decision(
        row["decision_id"], chosen, probability, probabilities, label, shadow, dict(features)
    )
    if not log:
        return replace(made, pending=row)
    decisions.log_decision(conn, **row)
    return made


def log_pending(conn: Connection, decision: Decision, message_id: str | None = None) -> None:
    """Write a decision ``choose(..., log=False)`` returned (with the message it chose)."""
    if decision.pending is not None:
        decisions.log_decision(conn, **decision.pending, message_id=message_id)
    elif message_id is not None:
        decisions.attach_message(conn, decision.decision_id, message_id)


def from_row(row: Any) -> Decision:
    """A logged decision as ``choose`` returned it."""
    logged = orjson.loads(row.features)
    return Decision(
        row.id,
        row.chosen,
        row.probability,
        orjson.loads(row.probabilities) if row.probabilities else {},
        row.policy,
        logged.get("shadow"),
        dict(logged.get("features") or {}),
    )


def context_of(row: Any) -> Mapping[str, str | float] | str:
    """The context a logged decision was made in (older rows kept only the bucket)."""
    logged = orjson.loads(row.features)
    found: Mapping[str, str | float] | str = logged.get("features") or logged.get("bucket", "all")
    return found


def apply(policy: Policy, row: Any, value: float) -> None:
    """Teach ``policy`` one rewarded decision (not one a caller fixed: it has no propensity)."""
    if row.chosen in policy.strategies and row.probability is not None:
        with _lock:
            policy.reward(context_of(row), row.chosen, value, row.probability)


def reward(
    conn: Connection,
    config: ProjectConfig,
    placements: Mapping[str, Placement],
    decision_id: str,
    value: float,
) -> dict[str, Any]:
    """Reward one decision now (a value in [0, 1]); a second reward for it is not counted."""
    return reward_many(conn, config, placements, [(decision_id, value)])[0]


def reward_many(
    conn: Connection,
    config: ProjectConfig,
    placements: Mapping[str, Placement],
    values: list[tuple[str, float]],
) -> list[dict[str, Any]]:
    """Reward several decisions at once (each policy is loaded and saved once). Every value is
    checked before any is applied; a decision rewarded before is reported, not counted again."""
    for index, (_, value) in enumerate(values):
        if not 0.0 <= value <= 1.0:
            where = "value" if len(values) == 1 else f"rewards[{index}].value"
            raise ValidationError(f"{where}: a reward is a number from 0 to 1")
    ids = [decision_id for decision_id, _ in values]
    rows = {
        row.id: row
        for start in range(0, len(ids), 500)
        for row in conn.execute(
            select(decisions_table).where(decisions_table.c.id.in_(ids[start : start + 500]))
        )
    }
    for decision_id in ids:
        row = rows.get(decision_id)
        if row is None:
            raise NotFound(f"no decision with id {decision_id!r}")
        if row.holdout or row.chosen is None:
            raise ValidationError(
                f"decision {decision_id!r} held the customer out: nothing to reward"
            )
        if row.rewarded_at is None and row.placement not in placements:
            raise NotFound(
                f"decision {decision_id!r} is for placement {row.placement!r}, not defined"
            )
    results: list[dict[str, Any]] = []
    policies: dict[str, tuple[Policy, int]] = {}
    at = now()
    counted: list[dict[str, Any]] = []
    done: set[str] = set()  # the same decision twice in one call counts once
    for decision_id, value in values:
        row = rows[decision_id]
        if row.rewarded_at is not None or decision_id in done:
            results.append(
                {"decision_id": decision_id, "counted": False, "reason": "already rewarded"}
            )
            continue
        if row.placement not in policies:
            policies[row.placement] = load_policy(
                conn, config, placements[row.placement], for_update=True
            )
        apply(policies[row.placement][0], row, value)
        done.add(decision_id)
        counted.append({"b_id": decision_id, "b_reward": value})
        results.append({"decision_id": decision_id, "counted": True, "reward": value})
    versions = {
        name: save_policy(conn, name, policy, version, "reward")
        for name, (policy, version) in policies.items()
    }
    if counted:
        conn.execute(
            update(decisions_table)
            .where(decisions_table.c.id == bindparam("b_id"))
            .values(rewarded_at=at, reward=bindparam("b_reward"), reward_source="api"),
            counted,
        )
    for result in results:
        if result["counted"]:
            result["version"] = versions[rows[result["decision_id"]].placement]
    return results


def rebuild(conn: Connection, config: ProjectConfig, placement: Placement) -> dict[str, Any]:
    """Relearn a placement's policy from scratch from the rewarded decisions still in the log
    (after erasures, a backend switch, or a change of features)."""
    policy = _fresh(config, placement)
    count = 0
    for row in conn.execute(
        select(decisions_table)
        .where(
            decisions_table.c.placement == placement.name,
            decisions_table.c.rewarded_at.is_not(None),
            decisions_table.c.chosen.is_not(None),
        )
        .order_by(decisions_table.c.created_at, decisions_table.c.id)
    ):
        apply(policy, row, float(row.reward or 0.0))
        count += 1
    version = save_policy(conn, placement.name, policy, 0, "rebuild")
    return {"placement": placement.name, "decisions": count, "version": version}
