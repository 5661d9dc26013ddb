"""Preference data to refine the model: reviewed edits and rejections and the gate's refusals
become (prompt, chosen, rejected) pairs in TRL's chat format, only for consenting customers,
with names, emails and phone numbers scrubbed, and never for an erased person."""

from __future__ import annotations

from itertools import count
from pathlib import Path
from typing import Any

import orjson
import pytest

from monogram.cdp import privacy
from monogram.content.llm.fake import FakeModel
from monogram.core.errors import ValidationError
from monogram.learning import preferences
from monogram.pipeline import draft_for
from monogram.quality import review
from monogram.store.tables import messages
from monogram.workspace import Workspace
from tests.test_generation import seed_customers

REPLY = "Thanks for getting in touch. Your order is on its way."


def exported(ws: Workspace, path: Path, **options: Any) -> tuple[Any, list[dict[str, Any]]]:
    with ws.store.read() as conn:
        report = preferences.export(conn, ws.brand(), ws.placements(), path, **options)
    return report, [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_edits_rejections_and_gate_refusals_become_scrubbed_pairs(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    ws = sqlite_workspace
    seed_customers(ws)
    path = tmp_path / "prefs.jsonl"
    with pytest.raises(ValidationError, match="no preference pairs to export"):
        exported(ws, path)
    assert not path.exists()  # no empty file pretending to be data
    calls = count()

    def model(messages: list[dict[str, Any]], _options: Any) -> str:
        if "helpful reply" in messages[0]["content"]:
            return REPLY
        # Every other candidate of the email runs far over the length limit: turned down.
        return "New running picks for you." if next(calls) % 2 else "Running shoes " * 30

    ws.use_model(FakeModel(model))
    ask = {"message": "Where is my order?"}
    first = draft_for(ws, "user_id:u1", "support_reply", inputs=ask)
    second = draft_for(ws, "user_id:u1", "support_reply", inputs={"message": "Where is it now?"})
    draft_for(ws, "user_id:u1", "email", strategy="warm")
    draft_for(ws, "user_id:u2", "email", strategy="warm")  # u2 never consented to ai_generation
    with ws.store.read() as conn:
        pending = {p["message_id"]: p["review_id"] for p in review.list_reviews(conn)}
    edit = "Thanks for asking, Ana. Your parcel left our warehouse today."
    review.decide(ws.store, pending[first.message_id], "edit", "sam", text=edit)
    review.decide(
        ws.store, pending[second.message_id], "reject", "sam", fallback_text="We will check."
    )
    report, rows = exported(ws, path)
    assert report.pairs == len(rows) and set(report.by_source) >= {"review_edit", "review_reject"}
    by_source = {row["source"]: row for row in rows}
    edited = by_source["review_edit"]
    assert edited["chosen"] == [
        {"role": "assistant", "content": edit.replace("Ana", "[first name]")}
    ]
    assert edited["rejected"] == [{"role": "assistant", "content": REPLY}]
    scrubbed = preferences.scrub("Ana: ana@example.com, +1 212 555 0100. Anabel", ["Ana"])
    assert scrubbed == "[first name]: [email], [phone]. Anabel"
    assert by_source["review_reject"]["chosen"][0]["content"] == "We will check."
    for row in rows:
        prompt = row["prompt"]
        assert prompt[0]["role"] == "system" and prompt[-1]["role"] == "user"
        assert "DATA" in prompt[-1]["content"]  # the customer's data block, fenced
        text = orjson.dumps(row).decode()
        assert "Ana" not in text and "ana@example.com" not in text
    assert "gate" in report.by_source  # the over-long candidates the gate turned down
    gate = next(row for row in rows if row["source"] == "gate")
    assert gate["rejected"][0]["content"].startswith("Running shoes")
    with ws.store.read() as conn:
        customers = {
            m.profile_id
            for m in conn.execute(messages.select())
            if m.id in {r["message_id"] for r in rows}
        }
    assert len(customers) == 1  # u1 only
    only_edits, rows = exported(ws, path, sources=("review_edit",))
    assert only_edits.pairs == 1 and rows[0]["source"] == "review_edit"
    with pytest.raises(ValidationError, match="unknown sources"):
        exported(ws, path, sources=("outcomes",))
    # Erasing the person removes their messages, so nothing of them can be exported again.
    privacy.erase(ws.store, "user_id:u1")
    path.unlink()
    with pytest.raises(ValidationError, match="no preference pairs"):
        exported(ws, path)
    assert not path.exists()
