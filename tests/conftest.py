from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from fastapi.testclient import TestClient

from monogram.api.app import create_app
from monogram.keys import create_key
from monogram.workspace import Workspace, open_workspace
from tests.pg import postgres_server
from tests.smtp import Inbox, smtp_inbox


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str | None]:
    with postgres_server() as url:
        if url is None and os.environ.get("MONOGRAM_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required (MONOGRAM_REQUIRE_POSTGRES=1) but none could start")
        yield url


def _fresh_pg_database(server_url: str) -> tuple[str, str]:
    name = "t_" + uuid.uuid4().hex[:12]
    admin = sqlalchemy.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    admin.dispose()
    return name, server_url.rsplit("/", 1)[0] + f"/{name}"


def _drop_pg_database(server_url: str, name: str) -> None:
    admin = sqlalchemy.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_server_url: str | None
) -> Iterator[str]:
    """Each store test runs twice: on a SQLite file and on a real PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if pg_server_url is None:
        pytest.skip("no PostgreSQL server: install postgresql or set MONOGRAM_TEST_POSTGRES_URL")
    name, url = _fresh_pg_database(pg_server_url)
    yield url
    _drop_pg_database(pg_server_url, name)


@pytest.fixture
def pg_url(pg_server_url: str | None) -> Iterator[str]:
    """A fresh database on the test PostgreSQL server (tests that need PostgreSQL itself)."""
    if pg_server_url is None:
        pytest.skip("no PostgreSQL server: install postgresql or set MONOGRAM_TEST_POSTGRES_URL")
    name, url = _fresh_pg_database(pg_server_url)
    yield url
    _drop_pg_database(pg_server_url, name)


def _open(home: Path, url: str, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("MONOGRAM_HOME", str(home))
    monkeypatch.setenv("MONOGRAM_DATABASE_URL", url)
    return open_workspace()


@pytest.fixture
def workspace(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workspace]:
    """A fresh workspace on each backend."""
    ws = _open(tmp_path / "home", database_url, monkeypatch)
    yield ws
    ws.close()


@pytest.fixture
def sqlite_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """A fresh workspace on SQLite only, for tests of logic above the store."""
    ws = _open(tmp_path / "home", f"sqlite:///{tmp_path / 'store.db'}", monkeypatch)
    yield ws
    ws.close()


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


class Api:
    """A TestClient plus one key of each scope."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.client = TestClient(create_app(ws))
        self.write = create_key(ws.store, "write")[1]
        self.read = create_key(ws.store, "read")[1]
        self.admin = create_key(ws.store, "admin")[1]


@pytest.fixture
def api(sqlite_workspace: Workspace) -> Iterator[Api]:
    wrapper = Api(sqlite_workspace)
    with wrapper.client:
        yield wrapper


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, Inbox]]:
    """A real SMTP server on localhost for the test: (port, inbox)."""
    with smtp_inbox() as server:
        yield server
