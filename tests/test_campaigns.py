"""Campaign runs: eligibility, holdout, decisions, review, resumability, and a real kill -9
in the middle of a run against a real SMTP server."""

from __future__ import annotations

import email
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from sqlalchemy import select

from monogram import demo, samples
from monogram.campaigns import Campaign
from monogram.campaigns.run import run_campaign
from monogram.content.llm.fake import FakeModel
from monogram.delivery import outbox as outboxes
from monogram.delivery.channels.file import FileChannel
from monogram.quality import review
from monogram.store.tables import decisions, identifiers, outbox
from monogram.workspace import Workspace
from tests.smtp import Inbox

GOOD_COPY = "Fresh running and hiking gear picked for your next trail"


@pytest.fixture
def shop(sqlite_workspace: Workspace) -> Workspace:
    ws = sqlite_workspace
    data = demo.write_samples(ws, customers=80)
    demo.load_samples(ws, data)
    ws.use_model(FakeModel(lambda m, o: GOOD_COPY))
    return ws


def lines(path: Path) -> list[dict]:
    return [orjson.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_run_is_idempotent_and_complete(shop: Workspace, tmp_path: Path) -> None:
    spec = Campaign(name="spring", placement="email", audience="demo_audience", holdout=0.2)
    channel = FileChannel(tmp_path / "out.jsonl")
    first = run_campaign(shop, spec, channel)
    assert first.audience > 20
    assert sum(first.outcomes.values()) == first.audience
    assert set(first.outcomes) <= {"sent", "review", "held_out", "suppressed"}
    assert first.outcomes["held_out"] > 0 and first.outcomes["sent"] > 0
    sent = lines(tmp_path / "out.jsonl")
    assert len(sent) == first.outcomes["sent"]
    assert len({m["message_id"] for m in sent}) == len(sent)
    # The export carries the message as it would have gone out, for an ESP to send.
    assert sent[0]["html"].lstrip().startswith("<!DOCTYPE html>") and sent[0]["text"]
    assert sent[0]["list_unsubscribe"].startswith("<http") and "preheader" in sent[0]
    assert "{{unsubscribe_url}}" not in sent[0]["text"] + sent[0]["html"]
    again = run_campaign(shop, spec, channel)
    assert len(lines(tmp_path / "out.jsonl")) == len(sent)  # nothing sent twice
    assert again.outcomes == first.outcomes
    with shop.store.read() as conn:
        rows = list(conn.execute(select(decisions).where(decisions.c.campaign == "spring")))
        assert len(rows) == first.audience - first.outcomes["suppressed"]
        for row in rows:
            if row.holdout:
                assert row.chosen is None
            else:
                assert row.probability == pytest.approx(1 / 4) and row.chosen in (
                    "warm",
                    "practical",
                    "select",
                    "rule",
                )
        pending = review.list_reviews(conn)
    if pending:
        message_id = pending[0]["message_id"]
        for item in pending:
            if item["message_id"] == message_id:  # every flagged element of one message
                review.decide(shop.store, item["review_id"], "approve", "kim")
        run_campaign(shop, spec, channel)
        assert len(lines(tmp_path / "out.jsonl")) == len(sent) + 1
        assert lines(tmp_path / "out.jsonl")[-1]["message_id"] == message_id


def test_frequency_cap_and_consent(shop: Workspace, tmp_path: Path) -> None:
    channel = FileChannel(tmp_path / "out.jsonl")
    capped = {"max": 1, "days": 7}
    first = run_campaign(
        shop,
        Campaign(
            name="one", placement="email", audience="demo_audience", holdout=0, frequency_cap=capped
        ),
        channel,
    )
    second = run_campaign(
        shop,
        Campaign(
            name="two", placement="email", audience="demo_audience", holdout=0, frequency_cap=capped
        ),
        channel,
    )
    assert second.outcomes["suppressed"] >= first.outcomes["sent"]
    with shop.store.read() as conn:
        reasons = [r.reason for r in conn.execute(select(outbox).where(outbox.c.campaign == "two"))]
    assert sum(1 for r in reasons if r and r.startswith("frequency cap")) == first.outcomes["sent"]
    everyone = run_campaign(
        shop, Campaign(name="all", placement="email", audience="vip", holdout=0), channel
    )
    with shop.store.read() as conn:
        rows = list(conn.execute(select(outbox).where(outbox.c.campaign == "all")))
    suppressed = [r.reason for r in rows if r.state == "suppressed"]
    assert everyone.outcomes["suppressed"] == len(suppressed)
    assert any(r.startswith("no consent") for r in suppressed)


def test_who_unsubscribes_while_the_message_is_written_is_not_sent_it(
    shop: Workspace, tmp_path: Path
) -> None:
    """Eligibility is checked when customers are planned and again right before the send: an
    email put on the suppression list while the step writes (here: every customer's, at the
    first model call) stops the messages already planned. Messages that went out before (with
    approved copy only, no model call) stay sent."""
    out = tmp_path / "out.jsonl"
    before: list[int] = []

    def unsubscribe_everyone() -> None:
        before.append(len(lines(out)))
        with shop.store.write() as conn:
            for kind, value in conn.execute(select(identifiers.c.type, identifiers.c.value)):
                if kind == "email":
                    outboxes.add_suppression(conn, kind, value, "unsubscribed mid-run")

    def write(_messages: object, _options: object) -> str:
        if not before:
            unsubscribe_everyone()
        return GOOD_COPY

    shop.use_model(FakeModel(write))
    spec = Campaign(name="gap", placement="email", audience="demo_audience", holdout=0.0)
    summary = run_campaign(shop, spec, FileChannel(out))
    assert before and summary.audience > before[0]
    assert len(lines(out)) == before[0] == summary.outcomes["sent"]  # none after it
    with shop.store.read() as conn:
        rows = list(conn.execute(select(outbox).where(outbox.c.campaign == "gap")))
    # The message being written then was stopped at the send; later ones when planned.
    stopped = [r for r in rows if r.state == "suppressed" and r.message_id is not None]
    assert stopped and all(r.reason == "suppression list" for r in stopped)
    assert {r.state for r in rows} <= {"sent", "suppressed", "review"}


def test_kill_9_mid_run_then_rerun_sends_each_message_once(
    tmp_path: Path, smtp_server: tuple[int, Inbox]
) -> None:
    home = tmp_path / "home"
    env = {
        **os.environ,
        "MONOGRAM_HOME": str(home),
        "MONOGRAM_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
    }
    from monogram.core.settings import Settings
    from monogram.workspace import open_workspace

    ws = open_workspace(Settings(home=home, database_url=env["MONOGRAM_DATABASE_URL"]))
    (home / "monogram.yaml").write_text(
        (home / "monogram.yaml").read_text() + "\nllm: {backend: fake}\n"
    )
    demo.load_samples(ws, demo.write_samples(ws, customers=120))
    ws.close()
    port, inbox = smtp_server
    command = [
        sys.executable,
        "-m",
        "monogram",
        "campaign",
        "run",
        str(home / "campaigns" / "demo.yaml"),
        "--channel",
        f"smtp://127.0.0.1:{port}",
        "--json",
    ]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while len(inbox.messages) < 8 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the run finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    killed_at = len(inbox.messages)
    assert killed_at > 0
    finished = subprocess.run(command, env=env, capture_output=True, check=True)
    summary = orjson.loads(finished.stdout)
    ids = [email.message_from_bytes(raw)["X-Monogram-Message"] for _, _, raw in inbox.messages]
    assert len(ids) == len(set(ids)), "a message reached the SMTP server twice"
    ws = open_workspace(Settings(home=home, database_url=env["MONOGRAM_DATABASE_URL"]))
    with ws.store.read() as conn:
        rows = list(conn.execute(select(outbox).where(outbox.c.campaign == "demo")))
    ws.close()
    states = [r.state for r in rows]
    assert len(ids) > killed_at
    assert "planned" not in states and "sending" not in states and "approved" not in states
    # At most the one message caught mid-send is left unsent (at most once, never twice). If the
    # kill fell after the server took that message and before its row said so, it reached the
    # server and is marked failed: that row, and no other, may differ.
    delivered = set(ids)
    sent = {r.message_id for r in rows if r.state == "sent"}
    caught = {r.message_id for r in rows if r.state == "failed"}
    assert len(caught) <= 1
    assert sent <= delivered and delivered - sent <= caught
    assert len({r.profile_id for r in rows}) == len(rows) == summary["audience"]
    _ = samples


def test_suppression_list_and_fallback_summary(shop: Workspace, tmp_path: Path) -> None:
    from monogram.cdp import context as ctx
    from monogram.cdp import segments
    from monogram.delivery import outbox as box

    with shop.store.read() as conn:
        first = segments.members(conn, shop.segments()["demo_audience"], shop.config, limit=1)[0]
        email_address = ctx.load_state(conn, first)["traits"]["email"][0]
    with shop.store.write() as conn:
        box.add_suppression(conn, "email", email_address, "hard bounce")
    shop.use_model(FakeModel(lambda m, o: "x" * 400))  # never usable: every element falls back
    summary = run_campaign(
        shop,
        Campaign(name="supp", placement="email", audience="demo_audience", holdout=0),
        FileChannel(tmp_path / "o.jsonl"),
        limit=10,
    )
    with shop.store.read() as conn:
        row = conn.execute(
            select(outbox).where(outbox.c.campaign == "supp", outbox.c.profile_id == first)
        ).one()
    assert (row.state, row.reason) == ("suppressed", "suppression list")
    assert summary.fallback_elements.get("no usable candidate", 0) > 0


def test_learning_in_shadow_then_serving(shop: Workspace, tmp_path: Path) -> None:
    from monogram.cdp import unify
    from monogram.learning.update import update_policies
    from monogram.store.tables import policy_states

    channel = FileChannel(tmp_path / "o.jsonl")
    run_campaign(
        shop,
        Campaign(name="learn1", placement="email", audience="demo_audience", holdout=0),
        channel,
    )
    with shop.store.read() as conn:
        rows = list(conn.execute(select(decisions).where(decisions.c.campaign == "learn1")))
    assert rows and all(r.policy == "uniform" for r in rows)
    assert all(
        orjson.loads(r.features)["shadow"] in ("warm", "practical", "select", "rule") for r in rows
    )
    clicked = [r for r in rows if r.chosen == "select"]
    for row in clicked:  # customers only ever click the 'select' variant
        with shop.store.read() as conn:
            from monogram.cdp import identity

            user = next(
                i["value"]
                for i in identity.identifiers_for(conn, row.profile_id)
                if i["type"] == "user_id"
            )
        unify.ingest_batch(
            shop.store,
            shop.config,
            [
                {
                    "type": "track",
                    "userId": user,
                    "event": "Email Link Clicked",
                    "properties": {"decision_id": row.id},
                }
            ],
            source="tracking",  # as the signed click link records it
        )
    waiting = update_policies(shop)  # the default 72 h window has not passed
    assert waiting["rewarded"] == {} and waiting["waiting"]["email"]["decisions"] == len(rows)
    assert waiting["waiting"]["email"]["window_hours"] == 72
    result = update_policies(shop, window_hours=0)
    assert result["rewarded"]["email"] == len(rows) and result["versions"]["email"] == 1
    assert update_policies(shop, window_hours=0)["rewarded"] == {}  # each decision once
    with shop.store.read() as conn:
        state = orjson.loads(conn.execute(select(policy_states.c.state)).scalar_one())
        rewards = {
            r.id: r.reward
            for r in conn.execute(select(decisions).where(decisions.c.campaign == "learn1"))
        }
    assert all(
        rewards[r.id] == pytest.approx(0.2) for r in clicked
    )  # a click: 1 of a top reward of 5
    assert state["strategies"] == ["warm", "practical", "select", "rule"]
    shop.config.learning.policy = "learned"
    run_campaign(
        shop,
        Campaign(name="learn2", placement="email", audience="demo_audience", holdout=0),
        channel,
    )
    with shop.store.read() as conn:
        served = list(conn.execute(select(decisions).where(decisions.c.campaign == "learn2")))
    assert served and all(r.policy == "thompson-v1" for r in served)
    assert all(0 < r.probability <= 1 for r in served)


def test_learning_report_and_uplift(shop: Workspace, tmp_path: Path) -> None:
    from monogram.learning.report import html_report, strategy_report, uplift
    from monogram.learning.update import update_policies

    run_campaign(
        shop,
        Campaign(name="lift", placement="email", audience="demo_audience", holdout=0.3),
        FileChannel(tmp_path / "o.jsonl"),
    )
    update_policies(shop, window_hours=0)
    with shop.store.read() as conn:
        rows = strategy_report(conn, "email")
        lift = uplift(conn, "lift")
    assert rows and sum(r["decisions"] for r in rows) > 0
    assert all(0 <= r["interval"][0] <= r["reward_rate"] <= r["interval"][1] <= 1 for r in rows)
    assert lift["treated"]["n"] > 0 and lift["holdout"]["n"] > 0
    assert (
        0 <= lift["p_value"] <= 1
        and lift["uplift_interval"][0] <= lift["uplift"] <= lift["uplift_interval"][1]
    )
    page = html_report(rows, "Strategies <email>")
    assert "data:image/png;base64," in page and "&lt;email&gt;" in page


def test_dry_run_logs_nothing_learning_reads_and_warns(shop: Workspace, tmp_path: Path) -> None:
    spec = Campaign(name="plan", placement="email", audience="demo_audience", holdout=0.2)
    warned: list[str] = []
    summary = run_campaign(
        shop, spec, FileChannel(tmp_path / "out.jsonl"), dry_run=True, on_warning=warned.append
    )
    assert set(summary.outcomes) <= {"planned", "planned: holdout", "suppressed"}
    assert summary.outcomes["planned: holdout"] > 0
    with shop.store.read() as conn:
        assert list(conn.execute(select(decisions))) == []  # nothing for learning to read
    assert not (tmp_path / "out.jsonl").exists()
    assert warned == summary.warnings and "too few to measure uplift" in warned[0]
    assert "needs an audience of at least 500" in warned[0]
    # The real run afterwards holds out the same customers, now with decisions.
    real = run_campaign(shop, spec, FileChannel(tmp_path / "out.jsonl"))
    assert real.outcomes["held_out"] == summary.outcomes["planned: holdout"]
