"""The quality gate on a labelled evaluation set: recall on seeded failures, false positives on
approved copy, and the gate inside the pipeline."""

from __future__ import annotations

from typing import Any

import pytest

from monogram import samples
from monogram.content.llm.fake import FakeModel
from monogram.pipeline import check_text, draft_for
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


def without_new_words(ws: Workspace) -> None:
    """Approved copy is written by people in words of their own: judge it without the
    bundled model's new-words limit (see docs/quality.md)."""
    path = ws.home / "placements" / "email.yaml"
    path.write_text(path.read_text().replace("gate: {thresholds: {new_words: 2}}", ""))


def test_approved_copy_passes(shop: Workspace) -> None:
    without_new_words(shop)
    failures = {}
    for text in GOOD:
        # As the email's opening (no product in view); a subject-like line gets its full stop.
        sentence = text if text.rstrip()[-1:] in ".!?" else text.rstrip() + "."
        body = judge(shop, sentence, element="opening")
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
    draft = draft_for(shop, "user_id:u1", "email", strategy="warm")
    subject = draft.elements["subject"]
    assert subject.source == "fallback"
    assert subject.reason and subject.reason.startswith("quality gate:")
    assert subject.variant_id == "subject_running"  # the best-matching approved variant
    assert subject.checks and subject.checks["passed"] is False
    assert set(subject.candidates) == {"Guaranteed lowest price ever, only an idiot would wait"}


def test_high_risk_placements_go_to_review(shop: Workspace) -> None:
    shop.use_model(FakeModel(lambda m, o: "Thanks for getting in touch. Your order is on its way."))
    message = {"message": "Where is my order?"}
    draft = draft_for(shop, "user_id:u1", "support_reply", inputs=message)
    reply = draft.elements["support_reply"]
    assert reply.source == "generated" and reply.review
    assert "high-risk" in reply.review_reasons[0]


def test_review_queue_approve_edit_reject_and_library(shop: Workspace) -> None:
    from monogram.core.errors import ConflictError
    from monogram.quality import review

    shop.use_model(FakeModel(lambda m, o: "Thanks for getting in touch. Your order is on its way."))
    first = draft_for(shop, "user_id:u1", "support_reply", inputs={"message": "Where is it?"})
    with shop.store.read() as conn:
        pending = review.list_reviews(conn)
        assert [p["message_id"] for p in pending] == [first.message_id]
        assert review.explain(conn, first.message_id)["status"] == "review"
    item = pending[0]["review_id"]
    edited = review.decide(
        shop.store, item, "edit", "sam", text="Thanks! Your parcel left our warehouse today."
    )
    assert (edited["original"], edited["edited"], edited["reviewer"]) == (
        "Thanks for getting in touch. Your order is on its way.",
        "Thanks! Your parcel left our warehouse today.",
        "sam",
    )
    with pytest.raises(ConflictError, match="already edited"):
        review.decide(shop.store, item, "approve", "kim")
    with shop.store.read() as conn:
        message = review.explain(conn, first.message_id)
    assert message["status"] == "ready"
    assert (
        message["elements"]["support_reply"]["text"]
        == "Thanks! Your parcel left our warehouse today."
    )
    variant = review.promote(shop.store, item)
    shop.use_model(FakeModel(lambda m, o: "We cured your order, guaranteed"))  # fails the gate
    second = draft_for(shop, "user_id:u1", "support_reply", inputs={"message": "Hello?"})
    assert second.elements["support_reply"].source == "fallback"
    with shop.store.read() as conn:
        library = review.with_library(conn, shop.placements()["support_reply"])
    assert variant in [v.id for v in library.generated()[0].fallbacks]
    shop.use_model(FakeModel(lambda m, o: "Thanks for waiting. Your order ships this week."))
    third = draft_for(shop, "user_id:u1", "support_reply", inputs={"message": "Any news?"})
    with shop.store.read() as conn:
        next_item = review.list_reviews(conn)[0]["review_id"]
    review.decide(
        shop.store, next_item, "reject", "sam", fallback_text="We will reply within a day."
    )
    with shop.store.read() as conn:
        rejected = review.explain(conn, third.message_id)["elements"]["support_reply"]
    assert (rejected["source"], rejected["text"]) == ("fallback", "We will reply within a day.")


def test_erasing_a_customer_erases_messages_and_reviews(shop: Workspace) -> None:
    from monogram.cdp import privacy
    from monogram.quality import review

    shop.use_model(FakeModel(lambda m, o: "Thanks for getting in touch. Your order is on its way."))
    draft = draft_for(shop, "user_id:u1", "support_reply", inputs={"message": "Where is it?"})
    exported = privacy.export(shop.store, shop.config, shop.segments(), "user_id:u1")
    assert [m["message_id"] for m in exported["messages"]] == [draft.message_id]
    counts = privacy.erase(shop.store, "user_id:u1")
    assert counts["messages"] == 2  # the message and its review item
    with shop.store.read() as conn:
        assert review.list_reviews(conn) == []
        with pytest.raises(Exception, match="no message"):
            review.explain(conn, draft.message_id)


def test_required_disclaimer_is_checked_on_the_whole_message(shop: Workspace) -> None:
    shop.use_model(FakeModel())
    email = shop.placements()["email"]
    full = draft_for(shop, "user_id:u1", email, record=False)
    assert full.provenance["message_checks"][0] == {
        "name": "disclaimer",
        "passed": True,
        "score": 1.0,
        "reasons": [],
    }
    no_footer = email.model_copy(
        update={"elements": [e for e in email.elements if e.name != "footer"]}
    )
    bare = draft_for(shop, "user_id:u1", no_footer, record=False)
    check = bare.provenance["message_checks"][0]
    assert (
        check["passed"] is False and "email disclaimer is missing" in check["reasons"][0]["message"]
    )
    assert bare.message_id is None


def test_claims_banned_in_one_jurisdiction(shop: Workspace) -> None:
    text = "Our climate neutral jacket, ready for the trail"
    here = check_text(shop, text, "user_id:u1", "email", "opening")
    assert next(c for c in here["checks"] if c["name"] == "compliance")["passed"]
    there = check_text(
        shop,
        text,
        "user_id:u1",
        "support_reply",
        "support_reply",
        inputs={"message": "Hallo", "jurisdiction": "DE"},
    )
    compliance = next(c for c in there["checks"] if c["name"] == "compliance")
    assert not compliance["passed"] and "banned in DE" in compliance["reasons"][0]["message"]


def test_offers_make_discounts_and_codes_grounded(shop: Workspace) -> None:
    text = "Take 20% off your next run with code TRAIL20"
    without = check_text(shop, text, "user_id:u1", "email", "opening")
    assert not next(c for c in without["checks"] if c["name"] == "grounding")["passed"]
    offer = {"discount_percent": 20, "code": "TRAIL20"}
    grounded = check_text(shop, text, "user_id:u1", "email", "opening", inputs={"offer": offer})
    assert next(c for c in grounded["checks"] if c["name"] == "grounding")["passed"]
    wrong = check_text(
        shop,
        "Take 30% off with code TRAIL20",
        "user_id:u1",
        "email",
        "opening",
        inputs={"offer": offer},
    )
    reasons = next(c for c in wrong["checks"] if c["name"] == "grounding")["reasons"]
    assert [r["span"] for r in reasons] == ["30%"]
