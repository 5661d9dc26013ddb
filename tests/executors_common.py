"""What the executor tests share: a workspace with a fake model, each customer's outcome of a
campaign, and a way to run a campaign again from nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import delete, select

from monogram.campaigns import Campaign
from monogram.campaigns.executors import Executor
from monogram.campaigns.run import Summary, run_campaign
from monogram.delivery.channels.file import FileChannel
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


def kill_a_worker_mid_run(
    ws: Workspace, spec: Campaign, out: Path, executor: Executor, kill: Callable[[], None]
) -> Summary:
    """Run the campaign in a thread, call ``kill`` once ten messages are out, and return the
    run's summary: the run itself must finish, whatever happened to the worker."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["summary"] = run_campaign(ws, spec, FileChannel(out), executor=executor)
        except Exception as exc:  # the assertion below reports it
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and thread.is_alive():
        if out.exists() and len(out.read_text().splitlines()) >= 10:
            break
        time.sleep(0.05)
    assert thread.is_alive(), "the run finished before a worker could be killed"
    kill()
    thread.join(300)
    assert not thread.is_alive()
    assert "error" not in result, result.get("error")
    summary: Summary = result["summary"]
    return summary


def assert_each_sent_once(ws: Workspace, out: Path, campaign: str) -> None:
    """Every message in the file once, to a different person; every row finished; one stored
    message per customer."""
    sent = [orjson.loads(line) for line in out.read_text().splitlines()]
    assert len({m["message_id"] for m in sent}) == len(sent)
    assert len({m["recipient"] for m in sent}) == len(sent)
    with ws.store.read() as conn:
        rows = list(conn.execute(select(outbox).where(outbox.c.campaign == campaign)))
        stored = list(conn.execute(select(messages.c.id, messages.c.profile_id)))
    assert {r.state for r in rows} <= {"sent", "held_out", "suppressed", "review"}
    assert sum(r.state == "sent" for r in rows) == len(sent)
    assert len({m.profile_id for m in stored}) == len(stored)


def assert_same_as_local(
    ws: Workspace, tmp_path: Path, executor: Executor, *, audience_over: int, sent_over: int
) -> Summary:
    """Run a campaign with the local executor, forget it, run it again with ``executor``:
    the same outcomes, the same per-customer states, strategies and texts, and the same
    number of messages out. The second run's summary."""
    spec = Campaign(name="spring", placement="email", audience="demo_audience", holdout=0.2)
    local = run_campaign(ws, spec, FileChannel(tmp_path / "local.jsonl"))
    assert local.audience > audience_over and local.outcomes["sent"] > sent_over
    expected = per_customer(ws, "spring")
    forget(ws, "spring")
    other = tmp_path / f"{executor.name}.jsonl"
    run = run_campaign(ws, spec, FileChannel(other), executor=executor)
    assert run.executor == executor.name and not run.errors
    assert run.outcomes == local.outcomes
    assert per_customer(ws, "spring") == expected
    assert len(other.read_text().splitlines()) == local.outcomes["sent"]
    return run
