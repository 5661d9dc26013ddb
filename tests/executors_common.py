"""What the executor tests share: a workspace with a fake model, each customer's outcome of a
campaign, and a way to run a campaign again from nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import delete, select

from monogram.store.tables import decisions, messages, outbox, reviews
from monogram.workspace import Workspace, open_workspace

GOOD_COPY = "Fresh running and hiking gear picked for your next trail"


def fake_workspace(
    home: Path, url: str | None, monkeypatch: pytest.MonkeyPatch, *, delay: float = 0.0
) -> Workspace:
    """A workspace at ``home`` whose model answers ``GOOD_COPY`` (after ``delay`` seconds), on
    the database at ``url`` (None: the workspace's own SQLite file)."""
    home.mkdir(parents=True)
    options = {"text": GOOD_COPY, "delay_s": delay}
    (home / "monogram.yaml").write_text(
        orjson.dumps({"llm": {"backend": "fake", "options": options}}).decode()
    )
    monkeypatch.setenv("MONOGRAM_HOME", str(home))
    if url is None:
        monkeypatch.delenv("MONOGRAM_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("MONOGRAM_DATABASE_URL", url)
    return open_workspace()


def per_customer(ws: Workspace, campaign: str) -> dict[str, tuple[Any, ...]]:
    with ws.store.read() as conn:
        texts = {
            row.id: {n: e["text"] for n, e in orjson.loads(row.elements).items()}
            for row in conn.execute(select(messages.c.id, messages.c.elements))
        }
        chosen = {
            row.profile_id: row.chosen
            for row in conn.execute(select(decisions).where(decisions.c.campaign == campaign))
        }
        return {
            row.profile_id: (
                row.state,
                chosen.get(row.profile_id),
                orjson.dumps(texts.get(row.message_id), option=orjson.OPT_SORT_KEYS),
            )
            for row in conn.execute(select(outbox).where(outbox.c.campaign == campaign))
        }


def forget(ws: Workspace, campaign: str) -> None:
    with ws.store.write() as conn:
        conn.execute(delete(reviews))
        conn.execute(delete(messages))
        conn.execute(delete(decisions).where(decisions.c.campaign == campaign))
        conn.execute(delete(outbox).where(outbox.c.campaign == campaign))
