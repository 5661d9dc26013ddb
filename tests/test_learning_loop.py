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
from monogram.learning.policy import ThompsonPolicy, VowpalPolicy, policy_from_state
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
    sure = ThompsonPolicy(names, floor=0.02)
    for _ in range(500):
        sure.reward(ACTIVE, names[0], 1.0)
    with ws.store.write() as conn:
        learning.save_policy(conn, "email", sure, 1, "test")
    ws.config.learning.floor = 0.1  # a changed floor applies to the stored policy too
    with ws.store.read() as conn:
        policy, _ = learning.load_policy(conn, ws.config, placement)
    # The floor holds; the rest is a Monte Carlo estimate of P(best), a few draws above zero.
    assert 0.1 - 1e-9 <= policy.probabilities(ACTIVE).min() <= 0.11

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


def test_decisions_api_chooses_rewards_once_and_reports(api) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import basic

    read, write = basic(api.read), basic(api.write)
    identify = {
        "userId": "dec1",
        "traits": {"consent": {"email_marketing": True, "personalization": True}},
    }
    assert api.client.post("/v1/identify", json=identify, headers=write).status_code == 200
    body = {"userId": "dec1", "placement": "email", "context": {"device": "mobile"}}
    assert api.client.post("/v1/decisions", json=body, headers=write).status_code == 403
    chosen = api.client.post("/v1/decisions", json=body, headers=read)
    assert chosen.status_code == 200, chosen.text
    decision = chosen.json()
    assert decision["strategy"] in decision["probabilities"]
    assert decision["features"]["device"] == "mobile"
    assert sum(decision["probabilities"].values()) == pytest.approx(1.0)
    path = f"/v1/decisions/{decision['decision_id']}/reward"
    first = api.client.post(path, json={"value": 1}, headers=read).json()
    second = api.client.post(path, json={"value": 1}, headers=read).json()
    assert first["counted"] and not second["counted"]
    bad = api.client.post(path, json={"value": 3}, headers=read)
    assert bad.status_code == 400 and "value" in bad.json()["message"]
    missing = api.client.post(
        "/v1/decisions/rewards",
        json={"rewards": [{"decision_id": "dec_nope", "value": 1}]},
        headers=read,
    )
    assert missing.status_code == 404
    narrowed = api.client.post(
        "/v1/decisions", json={**body, "strategies": ["warm", "rule"]}, headers=read
    ).json()
    assert set(narrowed["probabilities"]) == {"warm", "rule"}
    wrong = api.client.post(
        "/v1/decisions", json={**body, "context": {"Bad Name": "x"}}, headers=read
    )
    assert wrong.status_code == 400 and "context.Bad Name" in wrong.json()["message"]
    report = api.client.get("/v1/learning/report?placement=email&by=day", headers=read).json()
    assert [r["decisions"] for r in report["strategies"]] == [1]
    assert report["strategies"][0]["period"]
    page = api.client.get("/v1/learning/report.html?placement=email", headers=read)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "data:image/png;base64," in page.text and "Over time" in page.text
    assert api.client.get("/v1/learning/report.html", headers=write).status_code == 403


def test_rehearsal_learns_on_a_copy_and_reports_over_time(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    from monogram.campaigns.rehearsal import Responses, rehearse
    from monogram.learning.report import save_plot, strategy_report

    ws = sqlite_workspace
    demo.load_samples(ws, demo.write_samples(ws, customers=150))
    responses = Responses(
        open_rate=0.6,
        click_rates={
            "other": {"warm": 0.02, "practical": 0.02, "select": 0.5, "rule": 0.02},
        },
    )
    result = rehearse(ws, responses=responses, weeks=2, per_week=2, seed=1)
    with ws.store.read() as conn:
        assert list(conn.execute(select(decisions.c.id))) == []  # the workspace is untouched
    rows = result["campaigns"]
    assert len(rows) == 4 and all(r["decisions"] > 0 for r in rows)
    assert rows[-1]["click_rate"] > rows[0]["click_rate"]  # it learned to send `select`
    learned = result["best_strategy_per_context"]
    busy = [b for b in learned.values() if b["decisions"] >= 40]
    assert busy and all(b["learned"] == "select" for b in busy), learned

    rehearse(ws, responses=responses, weeks=2, per_week=2, seed=1, in_place=True)
    with ws.store.read() as conn:
        trend = strategy_report(conn, "email", by="day")
        overall = strategy_report(conn, "email")
    assert len({r["period"] for r in trend}) >= 3  # campaigns rewarded on separate days
    assert sum(r["decisions"] for r in trend) == sum(r["decisions"] for r in overall)
    for suffix in ("png", "svg"):
        save_plot(overall, tmp_path / f"report.{suffix}", trend)
    assert (tmp_path / "report.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (tmp_path / "report.svg").read_text()
    with pytest.raises(ValidationError, match=r"png or \.svg"):
        save_plot(overall, tmp_path / "report.gif", trend)


def test_outcomes_late_or_twice_count_once_and_only_within_the_window(
    sqlite_workspace: Workspace,
) -> None:
    from datetime import UTC, datetime, timedelta

    from monogram.core.clock import frozen_at

    ws = sqlite_workspace
    demo.load_samples(ws, demo.write_samples(ws, customers=20))
    placement = ws.placements()["email"]
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    with ws.store.write() as conn:
        people = list(conn.execute(select(profiles.c.profile_id).limit(3)).scalars())
    made = {}
    with frozen_at(start), ws.store.write() as conn:
        for name, person in zip(("twice", "late", "after"), people, strict=True):
            made[name] = learning.choose(
                conn, ws.config, placement, ACTIVE, profile_id=person, key=(name,)
            ).decision_id
    clicks = {"twice": [5, 6], "late": [70], "after": [80]}  # hours after the decision
    for (name, hours), person in zip(clicks.items(), people, strict=True):
        for n, h in enumerate(hours):
            with frozen_at(start + timedelta(hours=h)):  # the click happens then
                privacy.track_for_profile(
                    ws.store,
                    ws.config,
                    person,
                    "Email Link Clicked",
                    {"decision_id": made[name]},
                    f"click-{name}-{n}",
                )
    with frozen_at(start + timedelta(hours=100)):
        update_policies(ws)
    with ws.store.read() as conn:
        rewards = {
            r.id: r.reward
            for r in conn.execute(select(decisions).where(decisions.c.id.in_(made.values())))
        }
    assert rewards[made["twice"]] == pytest.approx(0.2)  # two clicks are one click
    assert rewards[made["late"]] == pytest.approx(0.2)  # late, but inside the 72 h window
    assert rewards[made["after"]] == 0.0  # after the window: not counted


def test_a_placement_can_serve_another_policy_than_the_project(workspace: Workspace) -> None:
    """The console's switch: one placement serves its baseline (or the learned policy) while
    the project default (uniform) holds for the others; an unknown mode is refused."""
    ws = workspace
    email, other = ws.placements()["email"], ws.placements()["ad"]
    with ws.store.write() as conn:
        learning.set_policy_mode(conn, "email", "baseline", "test")
        with pytest.raises(ValidationError):
            learning.set_policy_mode(conn, "email", "greedy", "test")
        chosen = learning.choose(conn, ws.config, email, ACTIVE, profile_id="p1", key=("k",))
        untouched = learning.choose(conn, ws.config, other, ACTIVE, profile_id="p1", key=("k",))
    assert chosen.policy == "baseline" and chosen.probability == 1.0
    assert untouched.policy == "uniform"
    with ws.store.read() as conn:
        assert learning.policy_mode(conn, ws.config, "email") == "baseline"
        assert learning.policy_mode(conn, ws.config, "ad") == ws.config.learning.policy
