"""The learning loop over the real store: choose/reward, modes, per-placement rewards,
erasure and rebuild, the Vowpal Wabbit backend, and evaluation from the decision log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest
import yaml
from sqlalchemy import select

from monogram import demo
from monogram.cdp import privacy
from monogram.content.placements import Placement
from monogram.core.errors import NotFound, ValidationError
from monogram.learning import store as learning
from monogram.learning.evaluation import evaluate_candidate
from monogram.learning.features import customer_features
from monogram.learning.policy import VowpalPolicy, policy_from_state
from monogram.learning.simulator import DEFAULT_WORLD, simulate
from monogram.learning.update import update_policies
from monogram.store.tables import decisions, policy_history, profiles
from monogram.workspace import Workspace

ACTIVE = {"lifecycle_stage": "active"}


def test_choose_logs_every_probability_and_reward_counts_once(workspace: Workspace) -> None:
    ws = workspace
    ws.config.learning.policy = "learned"
    placement = ws.placements()["email"]
    names = [s.name for s in placement.strategies]
    with ws.store.write() as conn:
        decision = learning.choose(conn, ws.config, placement, ACTIVE, profile_id="p1", key=("k",))
        held = learning.choose(
            conn, ws.config, placement, ACTIVE, profile_id="p2", key=("k",), holdout=True
        )
    assert set(decision.probabilities) == set(names)
    assert sum(decision.probabilities.values()) == pytest.approx(1.0)
    assert min(decision.probabilities.values()) >= ws.config.learning.floor - 1e-9
    assert decision.probability == decision.probabilities[decision.strategy]
    assert decision.policy == "thompson-v0" and held.strategy is None
    with ws.store.read() as conn:
        row = conn.execute(select(decisions).where(decisions.c.id == decision.decision_id)).one()
    assert orjson.loads(row.probabilities) == pytest.approx(decision.probabilities)
    assert orjson.loads(row.features)["bucket"] == "lifecycle_stage=active"

    placements = ws.placements()
    with ws.store.write() as conn:
        first = learning.reward(conn, ws.config, placements, decision.decision_id, 1.0)
        again = learning.reward(conn, ws.config, placements, decision.decision_id, 0.0)
    assert first["counted"] and first["version"] == 1
    assert not again["counted"] and again["reason"] == "already rewarded"
    with ws.store.read() as conn:
        row = conn.execute(select(decisions).where(decisions.c.id == decision.decision_id)).one()
        history = list(conn.execute(select(policy_history)))
    assert (row.reward, row.reward_source) == (1.0, "api")
    assert [(h.version, h.reason, h.backend) for h in history] == [(1, "reward", "thompson")]
    state = orjson.loads(history[0].state)["buckets"]["lifecycle_stage=active"]
    assert state[0][names.index(decision.strategy)] == 2.0  # the success counted once

    with ws.store.write() as conn:
        with pytest.raises(ValidationError, match="value"):
            learning.reward(conn, ws.config, placements, decision.decision_id, 1.5)
        with pytest.raises(ValidationError, match="held the customer out"):
            learning.reward(conn, ws.config, placements, held.decision_id, 1.0)
        with pytest.raises(NotFound, match="no decision"):
            learning.reward(conn, ws.config, placements, "dec_missing", 1.0)


def test_baseline_mode_serves_the_baseline_and_evaluation_refuses_what_logs_cannot_say(
    sqlite_workspace: Workspace,
) -> None:
    ws = sqlite_workspace
    ws.config.learning.policy = "baseline"
    placement = ws.placements()["email"]
    assert placement.baseline() == "rule"
    ids = []
    with ws.store.write() as conn:
        for i in range(300):
            decision = learning.choose(
                conn, ws.config, placement, ACTIVE, profile_id=f"p{i}", key=(str(i),)
            )
            assert (decision.strategy, decision.probability) == ("rule", 1.0)
            assert decision.policy == "baseline" and decision.shadow in {
                "warm",
                "practical",
                "select",
                "rule",
            }
            ids.append((decision.decision_id, float(i % 10 == 0)))
        results = learning.reward_many(conn, ws.config, ws.placements(), ids + ids[:1])
    assert sum(r["counted"] for r in results) == 300  # the repeated one is not counted twice
    with ws.store.read() as conn:
        baseline = evaluate_candidate(conn, ws.config, placement, "baseline", min_ess=100)
        other = evaluate_candidate(conn, ws.config, placement, "always:warm", min_ess=100)
        with pytest.raises(ValidationError, match="always:STRATEGY"):
            evaluate_candidate(conn, ws.config, placement, "sometimes")
    assert baseline["snips"]["estimate"] == pytest.approx(0.1)
    assert "effective sample size" in other["refused"]


def test_placement_learning_settings_are_validated() -> None:
    base = yaml.safe_load(
        (Path(__file__).parents[1] / "src/monogram/defaults/placements/email.yaml").read_text()
    )
    for learning_block, message in [
        ({"features": ["shoe_size"]}, "features: unknown"),
        ({"features": ["segment"]}, "needs `segments`"),
        ({"rewards": {"liked": 1}}, "rewards: unknown outcomes"),
        ({"baseline": "nope"}, "learning.baseline: no strategy"),
    ]:
        with pytest.raises(ValueError, match=message):
            Placement.model_validate({**base, "learning": learning_block})


def _with_placement(ws: Workspace, name: str, learning_block: dict) -> None:
    data = yaml.safe_load((ws.home / "placements" / "email.yaml").read_text())
    data.update(name=name, learning=learning_block)
    (ws.home / "placements" / f"{name}.yaml").write_text(yaml.safe_dump(data))


def test_rewards_and_features_per_placement(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    demo.load_samples(ws, demo.write_samples(ws, customers=40))
    _with_placement(
        ws,
        "email_opens",
        {
            "rewards": {"opened": 1.0},
            "features": ["segment", "top_category", "order_count"],
            "segments": ["at_risk_emailable", "demo_audience"],
        },
    )
    placements = ws.placements()
    with ws.store.write() as conn:
        profile_id = conn.execute(select(profiles.c.profile_id).limit(1)).scalar_one()
        features = customer_features(
            conn, ws.config, ws.segments(), placements["email_opens"], profile_id
        )
        made = {
            name: learning.choose(
                conn,
                ws.config,
                placements[name],
                customer_features(conn, ws.config, ws.segments(), placements[name], profile_id),
                profile_id=profile_id,
                key=(name,),
            )
            for name in ("email", "email_opens")
        }
    assert list(features) == ["segment", "top_category", "order_count"]
    assert features["segment"] in {"at_risk_emailable", "demo_audience", "other"}
    assert isinstance(features["order_count"], float)
    for name, d in made.items():
        privacy.track_for_profile(
            ws.store,
            ws.config,
            profile_id,
            "Email Opened",
            {"decision_id": d.decision_id},
            f"open-{name}",
        )
    update_policies(ws, window_hours=0)
    with ws.store.read() as conn:
        rewards = {
            r.placement: r.reward for r in conn.execute(select(decisions)) if r.reward is not None
        }
    assert rewards == {"email": 0.0, "email_opens": 1.0}  # an open only pays where configured


def test_erasure_removes_decisions_and_rebuild_relearns_without_them(
    sqlite_workspace: Workspace,
) -> None:
    ws = sqlite_workspace
    demo.load_samples(ws, demo.write_samples(ws, customers=30))
    ws.config.learning.policy = "learned"
    placement = ws.placements()["email"]

    with ws.store.write() as conn:
        people = list(conn.execute(select(profiles.c.profile_id).limit(2)).scalars())
        made = [
            learning.choose(
                conn, ws.config, placement, ACTIVE, profile_id=p, key=(p, str(i))
            ).decision_id
            for p in people
            for i in range(3)
        ]
        learning.reward_many(conn, ws.config, ws.placements(), [(d, 1.0) for d in made])
    exported = privacy.export(ws.store, ws.config, ws.segments(), f"profile_id:{people[0]}")
    assert len(exported["decisions"]) == 3
    counts = privacy.erase(ws.store, f"profile_id:{people[0]}")
    assert counts["decisions"] == 3
    with ws.store.write() as conn:
        left = list(conn.execute(select(decisions.c.profile_id)).scalars())
        rebuilt = learning.rebuild(conn, ws.config, placement)
        policy, version = learning.load_policy(conn, ws.config, placement)
    assert left == [people[1]] * 3
    assert rebuilt["decisions"] == 3 and version == rebuilt["version"] == 2
    alpha, beta = (
        policy.successes["lifecycle_stage=active"],
        policy.failures["lifecycle_stage=active"],
    )  # type: ignore[attr-defined]
    assert alpha.sum() - len(alpha) == 3.0 and beta.sum() == len(beta)


def test_vowpal_wabbit_backend_learns_keeps_its_floor_and_round_trips() -> None:
    policy = VowpalPolicy(["x", "y"], floor=0.05, seed=1, actions={"x": {"kind": "rule"}})
    rng = np.random.default_rng(0)
    rates = {"a": {"x": 0.5, "y": 0.1}, "b": {"x": 0.1, "y": 0.5}}
    for _ in range(3000):
        segment = "a" if rng.random() < 0.5 else "b"
        context = {"segment": segment, "orders": float(rng.integers(0, 20))}
        strategy, probability = policy.choose(context)
        policy.reward(
            context, strategy, float(rng.random() < rates[segment][strategy]), probability
        )
    for segment, best in (("a", "x"), ("b", "y")):
        context = {"segment": segment, "orders": 3.0}
        probabilities = policy.probabilities(context)
        assert policy.best(context) == best
        assert probabilities.min() >= 0.05 - 1e-6 and probabilities.sum() == pytest.approx(1.0)
        restored = policy_from_state(orjson.loads(orjson.dumps(policy.state())))
        assert restored.probabilities(context) == pytest.approx(probabilities)


def test_simulator_with_the_vw_backend_runs_the_real_decision_log() -> None:
    result = simulate(DEFAULT_WORLD, 12_000, seed=2, floor=0.03, backend="vw")
    assert result["decisions_logged"] == 12_000 and result["policy_version"] > 10
    assert result["regret"] < 0.7 * result["uniform_regret"]
