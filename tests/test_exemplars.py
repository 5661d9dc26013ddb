"""Exemplars that learn: reviewed edits and rewarded copy become worked examples for their
segment (names replaced by stand-ins, consenting customers only), versioned with rollback,
used first in later prompts for that segment, and erased with the person."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from monogram.cdp import privacy
from monogram.content.llm.fake import FakeModel
from monogram.core.clock import now
from monogram.core.errors import ValidationError
from monogram.learning import exemplars
from monogram.pipeline import draft_for
from monogram.quality import review
from monogram.store.tables import decisions, learned_exemplars
from monogram.workspace import Workspace
from tests.test_generation import seed_customers

EDIT = "Thanks for asking, Ana. Your parcel left our warehouse today."


def test_edits_and_rewarded_copy_become_examples_for_their_segment(
    sqlite_workspace: Workspace,
) -> None:
    ws = sqlite_workspace
    seed_customers(ws)
    with pytest.raises(ValidationError, match="no exemplars to learn from"):
        exemplars.build(ws.store, ws.placements(), by="ana")
    prompts: list[list[dict[str, Any]]] = []

    def model(messages: list[dict[str, Any]], _options: Any) -> str:
        prompts.append(messages)
        if "helpful reply" in messages[0]["content"]:
            return "Thanks for getting in touch. Your order is on its way."
        return "New running picks for you."

    ws.use_model(FakeModel(model))
    ask = {"message": "Where is my order?"}
    first = draft_for(ws, "user_id:u1", "support_reply", inputs=ask)
    with ws.store.read() as conn:
        item = next(p for p in review.list_reviews(conn) if p["message_id"] == first.message_id)
    review.decide(ws.store, item["review_id"], "edit", "sam", text=EDIT)
    built = exemplars.build(ws.store, ws.placements(), by="ana", note="first")
    assert built == {"version": 1, "exemplars": 1, "by_source": {"review_edit": 1}}
    with ws.store.read() as conn:
        row = conn.execute(select(learned_exemplars)).one()
    assert row.text == EDIT.replace("Ana", "Alex")  # the name kept as a stand-in, not Ana
    assert row.data.get("input.message") == "Where is my order?"
    # The next reply for a customer of that segment is written with the example first.
    prompts.clear()
    draft_for(ws, "user_id:u1", "support_reply", inputs={"message": "Where is my parcel?"})
    shown = [m["content"] for p in prompts for m in p if m["role"] == "assistant"]
    assert EDIT.replace("Ana", "Alex") in shown
    # Rewarded generated copy is a source too: a new version holds both.
    email = draft_for(ws, "user_id:u1", "email", strategy="warm")
    with ws.store.write() as conn:
        conn.execute(
            update(decisions)
            .where(decisions.c.message_id == email.message_id)
            .values(reward=1.0, rewarded_at=now())
        )
    second = exemplars.build(ws.store, ws.placements(), by="ana")
    assert second["version"] == 2 and second["by_source"]["outcome"] >= 1
    with ws.store.read() as conn:
        listed = exemplars.sets(conn)
    assert [(s["version"], s["active"]) for s in listed] == [(1, False), (2, True)]
    # Rolled back to none: the example no longer reaches prompts.
    exemplars.rollback(ws.store, 0)
    prompts.clear()
    draft_for(ws, "user_id:u1", "support_reply", inputs={"message": "Where is my box?"})
    shown = [m["content"] for p in prompts for m in p if m["role"] == "assistant"]
    assert EDIT.replace("Ana", "Alex") not in shown
    exemplars.rollback(ws.store, 1)
    with pytest.raises(Exception, match="no exemplar set version 9"):
        exemplars.rollback(ws.store, 9)
    # The person's words leave every version when they are erased.
    privacy.erase(ws.store, "user_id:u1")
    with ws.store.read() as conn:
        assert conn.execute(select(learned_exemplars)).all() == []
