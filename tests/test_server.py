"""`monogram serve` as a real process: official Segment and RudderStack SDKs, and durability."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import func, select

from monogram.keys import create_key
from monogram.store import Store
from monogram.store.tables import events
from monogram.workspace import open_workspace
from tests.conftest import basic
from tests.helpers import ev


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    write: str
    read: str
    db: str


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    home = tmp_path / "home"
    db = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("MONOGRAM_HOME", str(home))
    monkeypatch.setenv("MONOGRAM_DATABASE_URL", db)
    ws = open_workspace()
    write, read = create_key(ws.store, "write")[1], create_key(ws.store, "read")[1]
    ws.close()
    port = _port()
    process = subprocess.Popen(
        [sys.executable, "-m", "monogram", "serve", "--port", str(port)],
        env={**os.environ, "MONOGRAM_HOME": str(home), "MONOGRAM_DATABASE_URL": db},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail("monogram serve did not become healthy")
        time.sleep(0.1)
    yield Server(url, process, write, read, db)
    if process.poll() is None:
        process.terminate()
        process.wait(10)


def profile(server: Server, ref: str) -> dict:
    response = httpx.get(f"{server.url}/v1/profiles/{ref}", headers=basic(server.read))
    assert response.status_code == 200, response.text
    return response.json()


def test_official_segment_sdk_sends_unchanged(server: Server) -> None:
    from segment.analytics import Client

    errors: list[Exception] = []
    client = Client(
        server.write, host=server.url, sync_mode=True, on_error=lambda e, _b: errors.append(e)
    )
    client.identify(
        "sdk-user", {"email": "sdk@example.com", "first_name": "Sam"}, anonymous_id="sdk-anon"
    )
    client.track("sdk-user", "Order Completed", {"order_id": "s1", "revenue": 42.5})
    client.page("sdk-user", "Docs", "Home", {"path": "/docs"})
    client.screen("sdk-user", "App", "Cart")
    client.group("sdk-user", "team-1", {"name": "Team"})
    client.alias("sdk-anon-2", "sdk-user")
    client.flush()
    assert not errors
    found = profile(server, "email:sdk@example.com")
    assert found["computed"]["order_count"] == 1
    ids = {(i["type"], i["value"]) for i in found["identifiers"]}
    assert {
        ("user_id", "sdk-user"),
        ("anonymous_id", "sdk-anon"),
        ("anonymous_id", "sdk-anon-2"),
    } <= ids


def test_official_rudderstack_sdk_with_gzip(server: Server) -> None:
    from rudderstack.analytics import Client

    errors: list[Exception] = []
    client = Client(
        server.write,
        host=server.url,
        sync_mode=True,
        gzip=True,
        on_error=lambda e, _b: errors.append(e),
    )
    client.identify("rs-user", {"email": "rs@example.com"})
    client.track("rs-user", "Product Viewed", {"category": "yoga"})
    client.flush()
    assert not errors
    assert profile(server, "user_id:rs-user")["computed"]["favorite_categories"] == ["yoga"]


def test_acknowledged_events_survive_kill_9(server: Server) -> None:
    acknowledged = 0
    with httpx.Client(base_url=server.url, headers=basic(server.write)) as client:
        for n in range(20):
            batch = [ev("track", userId=f"k{n}", event="Product Viewed") for _ in range(50)]
            response = client.post("/v1/batch", json={"batch": batch})
            assert response.status_code == 200
            acknowledged += response.json()["accepted"]
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(10)
    store = Store(server.db)
    with store.read() as conn:
        stored = conn.execute(select(func.count()).select_from(events)).scalar_one()
    store.dispose()
    assert stored == acknowledged == 1000
