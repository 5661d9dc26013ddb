"""Ingestion on both stores: dedupe, quarantine and replay, junk ids, file import."""

from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import func, select

from monogram.cdp import files, ingest, unify
from monogram.store.tables import events, quarantine
from monogram.workspace import Workspace
from tests.helpers import ev


def count(ws: Workspace, table: object) -> int:
    with ws.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_repeated_message_id_is_stored_once(workspace: Workspace) -> None:
    batch = [ev("track", userId="u1", event="Product Viewed", messageId="same")]
    first = unify.ingest_batch(workspace.store, workspace.config, batch, source="test")
    again = unify.ingest_batch(workspace.store, workspace.config, batch * 3, source="test")
    assert (first.accepted, first.duplicates) == (1, 0)
    assert (again.accepted, again.duplicates) == (0, 3)
    assert count(workspace, events) == 1


def test_batch_keeps_good_events_and_quarantines_bad(workspace: Workspace) -> None:
    batch = [
        ev("identify", userId="u1", traits={"email": "a@b.com"}),
        ev("track", userId="u1"),  # no event name
        ev("page", anonymousId="x", name="Home"),
        "not an object",
    ]
    report = unify.ingest_batch(
        workspace.store, workspace.config, batch, source="api", prefix="batch."
    )
    assert report.accepted == 2
    assert [r.index for r in report.rejected] == [1, 3]
    assert report.rejected[0].errors[0].field == "batch.1.event"
    with workspace.store.read() as conn:
        held = ingest.quarantined(conn)
    assert len(held) == 2
    assert held[0]["errors"][0]["field"] == "batch.1.event"
    assert orjson.loads(held[0]["payload"])["userId"] == "u1"


def test_placeholder_ids_are_rejected_not_attributed(workspace: Workspace) -> None:
    batch = [
        ev("track", anonymousId="undefined", event="Product Viewed"),
        ev("track", userId="null", anonymousId="0", event="Product Viewed"),
    ]
    report = unify.ingest_batch(workspace.store, workspace.config, batch, source="test")
    assert report.accepted == 0
    assert all("placeholder" in r.errors[0].reason for r in report.rejected)
    assert count(workspace, events) == 0


def test_quarantine_replay_after_a_rule_change(workspace: Workspace) -> None:
    unify.ingest_batch(
        workspace.store,
        workspace.config,
        [ev("track", userId="guest", event="Viewed")],
        source="test",
    )
    assert count(workspace, quarantine) == 1
    # "guest" is a junk value by default; an operator decides it is a real id here.
    workspace.config.identity.blocked_values.remove("guest")
    report = unify.replay_quarantine(workspace.store, workspace.config)
    assert report.accepted == 1
    with workspace.store.read() as conn:
        assert ingest.count_quarantined(conn) == 0
    assert count(workspace, events) == 1


def test_file_import_jsonl_and_csv_with_line_numbers(workspace: Workspace, tmp_path: Path) -> None:
    jsonl = tmp_path / "events.jsonl"
    jsonl.write_text(
        "\n".join(
            [
                orjson.dumps(
                    ev("identify", userId="u1", traits={"email": "u1@example.com"})
                ).decode(),
                "{not json",
                orjson.dumps(
                    ev(
                        "track",
                        userId="u1",
                        event="Order Completed",
                        properties={"order_id": "o1", "revenue": 30},
                    )
                ).decode(),
                orjson.dumps(ev("track", userId="u1")).decode(),
            ]
        )
    )
    report = files.ingest_file(workspace.store, workspace.config, jsonl)
    assert report.accepted == 2
    assert sorted(r.index for r in report.rejected) == [2, 4]
    reasons = report.reasons()
    assert any("malformed JSON" in r for r in reasons)
    rerun = files.ingest_file(workspace.store, workspace.config, jsonl)
    assert (rerun.accepted, rerun.duplicates) == (0, 2)

    csv_file = tmp_path / "events.csv"
    csv_file.write_text(
        "type,userId,event,timestamp,messageId,properties.order_id,properties.revenue\n"
        "track,u2,Order Completed,2026-11-02T10:00:00Z,c1,o9,12.5\n"
        "track,,Order Completed,2026-11-02T10:00:00Z,c2,o10,3\n"
    )
    report = files.ingest_file(workspace.store, workspace.config, csv_file)
    assert report.accepted == 1
    assert [r.index for r in report.rejected] == [3]
    with workspace.store.read() as conn:
        payload = conn.execute(
            select(events.c.payload).where(events.c.message_id == "c1")
        ).scalar_one()
    assert orjson.loads(payload)["properties"] == {"order_id": "o9", "revenue": 12.5}
