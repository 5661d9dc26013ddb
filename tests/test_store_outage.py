"""PostgreSQL going away under a running server and an import: the API answers 503 (never 200
for an event it did not store), `monogram ingest` says so in one line, and both resume without
duplicates once the database is back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import sqlalchemy
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from monogram.api.app import create_app
from monogram.cli.main import app as cli_app
from monogram.keys import create_key
from monogram.workspace import Workspace
from tests.conftest import _drop_pg_database, _fresh_pg_database, _open, basic
from tests.helpers import ev


@pytest.fixture
def pg_workspace(
    pg_server_url: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Workspace, str, str]]:
    if pg_server_url is None:
        pytest.skip("no PostgreSQL server: install postgresql or set MONOGRAM_TEST_POSTGRES_URL")
    name, url = _fresh_pg_database(pg_server_url)
    ws = _open(tmp_path / "home", url, monkeypatch)
    yield ws, pg_server_url, name
    ws.close()
    _drop_pg_database(pg_server_url, name)


def _outage(server_url: str, name: str, down: bool) -> None:
    """Refuse new connections to the database and drop the open ones (or allow them again)."""
    admin = sqlalchemy.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {str(not down).lower()}")
        if down:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
    admin.dispose()


def _count(ws: Workspace) -> int:
    with ws.store.read() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM events").scalar() or 0)


def test_api_answers_503_while_the_database_is_down_and_loses_nothing(
    pg_workspace: tuple[Workspace, str, str],
) -> None:
    ws, server, name = pg_workspace
    key = create_key(ws.store, "write")[1]
    client = TestClient(create_app(ws))
    batch = {"batch": [ev("identify", userId="o1", traits={"email": "o1@example.com"})]}
    later = {"batch": [ev("track", userId="o1", event="Product Viewed")]}
    assert client.post("/v1/batch", json=batch, headers=basic(key)).status_code == 200
    _outage(server, name, down=True)
    try:
        down = client.post("/v1/batch", json=later, headers=basic(key))
        assert down.status_code == 503, down.text
        assert down.headers["retry-after"] == "5"
        assert down.json()["code"] == "store_unavailable"
        assert client.get("/health").status_code == 503
    finally:
        _outage(server, name, down=False)
    # The SDK retries the same batch: stored once.
    assert client.post("/v1/batch", json=later, headers=basic(key)).status_code == 200
    assert client.post("/v1/batch", json=later, headers=basic(key)).status_code == 200
    assert _count(ws) == 2


def test_ingest_stops_with_one_clear_line_and_a_rerun_skips_what_was_stored(
    pg_workspace: tuple[Workspace, str, str], tmp_path: Path
) -> None:
    ws, server, name = pg_workspace
    path = tmp_path / "events.jsonl"
    lines = [ev("identify", userId=f"u{n}", traits={"n": n}) for n in range(30)]
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in lines) + b"\n")
    runner = CliRunner()
    _outage(server, name, down=True)
    try:
        failed = runner.invoke(cli_app, ["ingest", str(path), "-q"])
    finally:
        _outage(server, name, down=False)
    assert failed.exit_code == 1
    assert "the database is unavailable" in failed.output and "Traceback" not in failed.output
    done = runner.invoke(cli_app, ["ingest", str(path), "-q"])
    again = runner.invoke(cli_app, ["ingest", str(path), "-q"])
    assert done.exit_code == again.exit_code == 0, done.output
    assert _count(ws) == 30
