"""Several processes write the same people at once: identify, alias and order events for each
person arrive through different processes, interleaved. On PostgreSQL every write must land
(no lost update, no deadlock, no duplicate profile), and the profiles must equal a rebuild from
the log in one process. SQLite queues its writers (one at a time); PostgreSQL takes turns on an
advisory lock for the identity graph."""

from __future__ import annotations

import multiprocessing
import random
from pathlib import Path

from monogram.cdp import unify
from monogram.core.settings import Settings
from monogram.workspace import open_workspace
from tests.helpers import canonical

PEOPLE = 60
PROCESSES = 4


def _events(seed: int = 5) -> list[dict[str, object]]:
    """Per person: views on three devices, an identify, two aliases, a login on the third device
    and two orders, each event addressed by a device or the user id."""
    rng = random.Random(seed)
    out: list[dict[str, object]] = []
    for n in range(PEOPLE):
        user, devices = f"user-{n}", [f"dev-{n}-{k}" for k in range(3)]
        day = f"2026-10-{1 + n % 28:02d}"
        at = lambda minute, day=day: f"{day}T{10 + minute // 60:02d}:{minute % 60:02d}:00Z"  # noqa: E731
        out += [
            {"type": "track", "anonymousId": devices[0], "event": "Product Viewed",
             "properties": {"product_id": "p1", "category": "running"}, "timestamp": at(0)},
            {"type": "track", "anonymousId": devices[1], "event": "Product Viewed",
             "properties": {"product_id": "p2", "category": "hiking"}, "timestamp": at(1)},
            {"type": "identify", "anonymousId": devices[0], "userId": user,
             "traits": {"email": f"p{n}@example.com", "first_name": "Pat"}, "timestamp": at(2)},
            {"type": "alias", "previousId": devices[1], "userId": user, "timestamp": at(3)},
            {"type": "track", "anonymousId": devices[2], "event": "Product Viewed",
             "properties": {"product_id": "p3", "category": "camping"}, "timestamp": at(4)},
            {"type": "identify", "anonymousId": devices[2], "userId": user, "timestamp": at(5)},
            {"type": "track", "userId": user, "event": "Order Completed", "timestamp": at(6),
             "properties": {"order_id": f"o{n}-1", "revenue": 40 + n, "products": []}},
            {"type": "track", "anonymousId": devices[rng.randrange(3)], "event": "Order Completed",
             "timestamp": at(7),
             "properties": {"order_id": f"o{n}-2", "revenue": 10, "products": []}},
        ]  # fmt: skip
    for index, event in enumerate(out):
        event["messageId"] = f"cw-{index}"
    return out


def _writer(url: str, home: str, batches: list[list[dict[str, object]]]) -> None:
    ws = open_workspace(Settings(home=Path(home), database_url=url))
    try:
        for batch in batches:
            unify.ingest_batch(ws.store, ws.config, batch, source="test")
    finally:
        ws.close()


def test_interleaved_writers_lose_nothing_and_match_a_rebuild(
    database_url: str, tmp_path: Path
) -> None:
    events = _events()
    rng = random.Random(11)
    shuffled = events[:]
    rng.shuffle(shuffled)  # each person's events spread over every process, out of order
    shares = [shuffled[i::PROCESSES] for i in range(PROCESSES)]
    plans = [[share[i : i + 7] for i in range(0, len(share), 7)] for share in shares]
    home = tmp_path / "home"
    ws = open_workspace(Settings(home=home, database_url=database_url))  # migrated once
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_writer, args=(database_url, str(home), plan)) for plan in plans
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=240)
    assert [w.exitcode for w in workers] == [0] * PROCESSES
    try:
        with ws.store.read() as conn:
            concurrent = canonical(conn)
            stored = conn.exec_driver_sql("SELECT count(*) FROM events").scalar()
        assert stored == len(events)  # every event stored once
        assert len(concurrent) == PEOPLE  # one profile a person: every merge happened
        unify.rebuild_identities(ws.store, ws.config)
        with ws.store.read() as conn:
            assert canonical(conn) == concurrent
    finally:
        ws.close()
