"""Prompt-template variants as learning arms: each generative strategy x variant is a strategy
the policy chooses among (with logged propensities), the variant's instruction writes the
element, every message records the variant, and a report says which variant wins where."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest
import yaml
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy import insert

from monogram.content.llm.fake import FakeModel
from monogram.content.placements import Placement
from monogram.core.clock import now
from monogram.learning.report import template_report
from monogram.pipeline import draft_for
from monogram.store.tables import decisions
from monogram.workspace import Workspace
from tests.test_generation import seed_customers

SHORT = "Write a subject line of five words or fewer about the product in the data."


def with_variants(ws: Workspace) -> None:
    path = ws.home / "placements" / "email.yaml"
    data = yaml.safe_load(path.read_text())
    for element in data["elements"]:
        if element["name"] == "subject":
            element["variants"] = [
                {"id": "short", "instruction": SHORT},
                {"id": "question", "instruction": "Ask one short question about the product."},
            ]
    path.write_text(yaml.safe_dump(data))


def test_each_generative_strategy_times_each_variant_is_an_arm(sqlite_workspace: Workspace) -> None:
    with_variants(sqlite_workspace)
    spec = sqlite_workspace.placements()["email"]
    generative = [s.name for s in spec.strategies if s.kind == "generative" and "__" not in s.name]
    names = {s.name for s in spec.strategies}
    for base in generative:
        assert {f"{base}__short", f"{base}__question"} <= names
    arm = spec.strategy(f"{generative[0]}__short")
    assert arm.template_version == "short" and arm.kind == "generative"
    assert not any(s.kind != "generative" and "__" in s.name for s in spec.strategies)
    again = Placement.model_validate(spec.model_dump())  # a dump loads back without doubling
    assert [s.name for s in again.strategies] == [s.name for s in spec.strategies]
    broken = spec.model_dump()
    subject = next(e for e in broken["elements"] if e["name"] == "subject")
    subject["variants"].append({"id": "short"})
    with pytest.raises(PydanticValidationError, match="two prompt variants with one id"):
        Placement.model_validate(broken)


def test_the_variant_writes_the_element_and_the_message_records_it(
    sqlite_workspace: Workspace,
) -> None:
    ws = sqlite_workspace
    seed_customers(ws)
    with_variants(ws)
    seen: list[str] = []

    def model(messages: list[dict[str, Any]], _options: Any) -> str:
        seen.append(messages[0]["content"])
        return "New trail shoes for you"

    ws.use_model(FakeModel(model))
    base = next(s.name for s in ws.placements()["email"].strategies if s.kind == "generative")
    plain = draft_for(ws, "user_id:u1", "email", strategy=base, record=False)
    seen.clear()
    varied = draft_for(ws, "user_id:u1", "email", strategy=f"{base}__short", record=False)
    assert any(SHORT in system for system in seen)  # the subject was asked for the short way
    assert varied.elements["subject"].prompt_variant == "short"
    assert plain.elements["subject"].prompt_variant is None
    assert varied.elements["opening"].prompt_variant is None  # it has no such variant
    assert varied.provenance["templates"]["subject"] != plain.provenance["templates"]["subject"]
    assert varied.elements["subject"].template_hash == varied.provenance["templates"]["subject"]


def logged(ws: Workspace) -> str:
    """Rewarded decisions where the short variant wins among lapsed customers; returns the
    base strategy's name."""
    with_variants(ws)
    spec = ws.placements()["email"]
    base = next(s.name for s in spec.strategies if s.kind == "generative" and "__" not in s.name)
    plan = {  # (segment, strategy) -> (decisions, rewarded)
        ("lifecycle_stage=lapsed", f"{base}__short"): (200, 60),
        ("lifecycle_stage=lapsed", f"{base}__question"): (200, 20),
        ("lifecycle_stage=lapsed", base): (200, 22),
        ("lifecycle_stage=active", f"{base}__short"): (30, 3),
        ("lifecycle_stage=active", f"{base}__question"): (30, 4),
    }
    rows = []
    at = now() - timedelta(days=3)
    for (segment, strategy), (count, rewarded) in plan.items():
        for index in range(count):
            rows.append(
                {
                    "id": f"dec_{segment}_{strategy}_{index}",
                    "created_at": at,
                    "profile_id": "prof_x",
                    "placement": "email",
                    "strategies": orjson.dumps([s.name for s in spec.strategies]).decode(),
                    "chosen": strategy,
                    "probability": 0.2,
                    "policy": "thompson",
                    "features": orjson.dumps({"bucket": segment}).decode(),
                    "holdout": False,
                    "rewarded_at": at,
                    "reward": 1.0 if index < rewarded else 0.0,
                }
            )
    with ws.store.write() as conn:
        conn.execute(insert(decisions), rows)
    return base


def test_the_template_report_names_the_winning_variant_per_segment(
    sqlite_workspace: Workspace,
) -> None:
    ws = sqlite_workspace
    logged(ws)
    with ws.store.read() as conn:
        report = template_report(conn, ws.placements())
    cells = {(r["segment"], r["variant"]): r for r in report}
    short = cells[("lifecycle_stage=lapsed", "short")]
    assert short["winner"] and short["clear"]
    assert cells[("lifecycle_stage=lapsed", "short")]["reward_rate"] == pytest.approx(0.3)
    assert cells[("lifecycle_stage=lapsed", "(element's own)")]["decisions"] == 200
    active_winner = [r for r in report if r["segment"] == "lifecycle_stage=active" and r["winner"]]
    assert len(active_winner) == 1 and not active_winner[0]["clear"]  # too few to tell


def test_arms_worse_with_confidence_are_retired_where_they_lose_and_can_come_back(
    sqlite_workspace: Workspace,
) -> None:
    from monogram.learning import store as learning
    from monogram.learning import variants

    ws = sqlite_workspace
    base = logged(ws)
    placements = ws.placements()
    assert variants.retire(ws.store, placements, by="ana", dry_run=True)
    with ws.store.read() as conn:
        assert variants.list_retired(conn) == []  # a dry run retires nothing
    retired = variants.retire(ws.store, placements, by="ana", min_decisions=200)
    names = {(r["segment"], r["strategy"]) for r in retired}
    assert ("lifecycle_stage=lapsed", f"{base}__question") in names
    # 30 decisions judge nothing: only the lapsed segment has arms retired
    assert all(segment == "lifecycle_stage=lapsed" for segment, _ in names)
    assert (("lifecycle_stage=lapsed", base) in names) == (base != placements["email"].baseline())
    evidence = next(r for r in retired if r["strategy"] == f"{base}__question")["evidence"]
    assert (
        evidence["best"] == f"{base}__short"
        and evidence["interval"][1] < evidence["best_interval"][0]
    )
    assert variants.retire(ws.store, placements, by="ana") == []  # already retired
    spec = placements["email"]
    with ws.store.read() as conn:
        for index in range(40):
            decision = learning.choose(
                conn,
                ws.config,
                spec,
                {"lifecycle_stage": "lapsed"},
                profile_id="prof_x",
                key=(f"k{index}",),
                log=False,
            )
            assert decision.strategy != f"{base}__question"
            assert decision.probabilities[f"{base}__question"] == 0.0
            assert sum(decision.probabilities.values()) == pytest.approx(1.0)
    assert variants.revive(ws.store, "email", f"{base}__question") == 1
    with ws.store.read() as conn:
        assert variants.retired(conn, "email", "lifecycle_stage=lapsed") == {
            r["strategy"] for r in retired if r["strategy"] != f"{base}__question"
        }
    with pytest.raises(Exception, match="no retired arm"):
        variants.revive(ws.store, "email", "nope")


def test_the_simulated_loop_retires_losers_and_keeps_each_segments_winner() -> None:
    from monogram.learning.simulator import SegmentWorld, World, simulate

    world = World(
        strategies=["warm", "warm__short", "warm__question", "select"],
        segments={
            "lapsed": SegmentWorld(
                share=1,
                rates={"warm": 0.10, "warm__short": 0.30, "warm__question": 0.05, "select": 0.1},
            ),
            "active": SegmentWorld(
                share=1,
                rates={"warm": 0.10, "warm__short": 0.05, "warm__question": 0.30, "select": 0.1},
            ),
        },
        delay=20,
    )
    result = simulate(world, 6_000, seed=4, retire_every=2_000, retire_min=40)
    best = {name: cell["true"] for name, cell in result["best_strategy_per_segment"].items()}
    assert result["retired"], "clear losers are retired"
    for item in result["retired"]:
        segment = item["segment"].removeprefix("segment=")
        assert item["arm"] != best[segment]  # never a segment's true winner
        assert item["arm"] not in ("warm", "select")  # the baseline and approved copy stay
    learned = {n: c["learned"] for n, c in result["best_strategy_per_segment"].items()}
    assert learned == best


def test_variants_are_proposed_checked_offline_and_live_only_once_approved(
    sqlite_workspace: Workspace,
) -> None:
    from monogram import proposing
    from monogram.learning import proposals
    from tests.conftest import Api, basic

    ws = sqlite_workspace
    seed_customers(ws)
    ws.use_model(FakeModel(lambda m, o: "New trail shoes for you"))
    found = proposing.propose(ws, "ad", sample=3)
    assert found and all(item["check"]["customers"] >= 1 for item in found)
    headline = [f for f in found if f["element"] == "headline"]
    assert {f["how"] for f in headline} >= {"rule: short", "rule: plain"}
    assert all(f["instruction"].startswith("Write a short ad headline") for f in headline)
    check = headline[0]["check"]
    assert set(check) == {"customers", "variant", "current"}
    assert check["variant"]["passed"] + check["variant"]["fell_back"] == check["customers"]
    # Nothing is live before a person approves it.
    arm = f"bold__{headline[0]['variant_id']}"
    assert arm not in {s.name for s in ws.placements()["ad"].strategies}
    api = Api(ws)
    with api.client:
        listed = api.client.get("/v1/learning/proposals?status=proposed", headers=basic(api.read))
        assert listed.status_code == 200 and len(listed.json()) == len(found)
        body = {"action": "approve", "by": "ana"}
        path = f"/v1/learning/proposals/{headline[0]['id']}"
        assert api.client.post(path, json=body, headers=basic(api.read)).status_code == 403
        approved = api.client.post(path, json=body, headers=basic(api.admin))
        assert approved.status_code == 200 and approved.json()["status"] == "live"
        assert api.client.post(path, json=body, headers=basic(api.admin)).status_code == 409
    ws._runtime.pop("live_variants", None)  # the store is looked at again (every 2 s)
    spec = ws.placements()["ad"]
    assert spec.strategy(arm).template_version == headline[0]["variant_id"]
    drafted = draft_for(ws, "user_id:u1", "ad", strategy=arm, record=False)
    assert drafted.elements["headline"].prompt_variant == headline[0]["variant_id"]
    rejected = proposals.decide(ws.store, headline[1]["id"], "reject", "ana", "too bland")
    assert rejected["status"] == "rejected"
    with pytest.raises(Exception, match="already live"):
        proposals.decide(ws.store, headline[0]["id"], "reject", "bo")
