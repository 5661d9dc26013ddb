"""The quality gate on a labelled evaluation set: recall on seeded failures, false positives on
approved copy, and the gate inside the pipeline."""

from __future__ import annotations

from typing import Any

import pytest

from monogram import samples
from monogram.content.llm.fake import FakeModel
from monogram.pipeline import check_text, personalize
from monogram.quality import gate
from monogram.workspace import Workspace
from tests.quality_cases import BAD, GOOD, INJECTED_MESSAGE
from tests.test_generation import seed_customers

ELEMENT_FOR = {"format": ("email", "subject")}


def fill(text: str) -> str:
    product = next(p for p in samples.catalog() if p["category"] == "running")
    return text.replace("{product}", product["name"]).replace("{price}", f"${product['price']:.2f}")


@pytest.fixture
def shop(sqlite_workspace: Workspace) -> Workspace:
    seed_customers(sqlite_workspace)
    from monogram.cdp import unify
    from tests.helpers import ev

    unify.ingest_batch(
        sqlite_workspace.store,
        sqlite_workspace.config,
        [
            ev("identify", userId="u9", traits={"first_name": "Brandi", "last_name": "Browning"}),
        ],
        source="t",
    )
    gate._names.clear()
    return sqlite_workspace


def judge(
    ws: Workspace,
    text: str,
    placement: str = "email",
    element: str = "narrative",
    inputs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return check_text(ws, fill(text), "user_id:u1", placement, element, inputs=inputs)


def test_approved_copy_passes(shop: Workspace) -> None:
    failures = {}
    for text in GOOD:
        body = judge(shop, text, element="opening")
        if not body["passed"]:
            failures[text] = [c for c in body["checks"] if not c["passed"]]
    # False-positive rate on approved copy must stay at or under 5%.
    assert len(failures) / len(GOOD) <= 0.05, failures


@pytest.mark.parametrize("check", sorted(BAD))
def test_each_check_catches_its_failures(shop: Workspace, check: str) -> None:
    placement, element = ELEMENT_FOR.get(check, ("email", "opening"))
    inputs = {"message": INJECTED_MESSAGE} if check == "injection" else None
    if inputs:
        placement, element = "support_reply", "support_reply"
    missed = []
    for text in BAD[check]:
        body = judge(shop, text, placement, element, inputs=inputs)
        result = next(c for c in body["checks"] if c["name"] == check)
        if result["passed"]:
            missed.append(text)
        else:
            assert result["reasons"] and body["passed"] is False
    recall = 1 - len(missed) / len(BAD[check])
    assert recall >= 0.95, missed


def test_reasons_point_at_the_span(shop: Workspace) -> None:
    body = judge(shop, "Get 40% off today, guaranteed")
    grounding = next(c for c in body["checks"] if c["name"] == "grounding")
    assert grounding["reasons"][0]["span"] == "40%"
    start = grounding["reasons"][0]["start"]
    assert fill("Get 40% off today, guaranteed")[start : start + 3] == "40%"


def test_the_gate_replaces_failing_output_and_keeps_the_reason(shop: Workspace) -> None:
    shop.use_model(FakeModel(lambda m, o: "Guaranteed lowest price ever, only an idiot would wait"))
    draft = personalize(shop, "user_id:u1", "email", strategy="warm")
    subject = draft.elements["subject"]
    assert subject.source == "fallback"
    assert subject.reason and subject.reason.startswith("quality gate:")
    assert subject.checks and subject.checks["passed"] is False
    assert subject.candidates == ["Guaranteed lowest price ever, only an idiot would wait"]


def test_high_risk_placements_go_to_review(shop: Workspace) -> None:
    shop.use_model(FakeModel(lambda m, o: "Thanks for getting in touch. Your order is on its way."))
    message = {"message": "Where is my order?"}
    draft = personalize(shop, "user_id:u1", "support_reply", inputs=message)
    reply = draft.elements["support_reply"]
    assert reply.source == "generated" and reply.review
    assert "high-risk" in reply.review_reasons[0]
