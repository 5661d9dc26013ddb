"""Engine factory and migrations: SQLite (WAL) by default, PostgreSQL through psycopg."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).parent / "migrations"


class Store:
    """The database: a writer engine and a reader engine over the same URL.

    On SQLite, write transactions start with ``BEGIN IMMEDIATE`` so two writers queue on the
    busy timeout instead of failing when one upgrades its read lock; readers use plain
    transactions and, in WAL mode, never wait for writers. On PostgreSQL both are one engine.
    """

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL") -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self.engine = make_engine(url, sqlite_synchronous=sqlite_synchronous, immediate=True)
        self.reader = (
            make_engine(url, sqlite_synchronous=sqlite_synchronous)
            if self.is_sqlite
            else self.engine
        )

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back on an error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.reader.connect() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
        if self.reader is not self.engine:
            self.reader.dispose()


def make_engine(url: str, *, sqlite_synchronous: str = "FULL", immediate: bool = False) -> Engine:
    """Create an engine; SQLite files get WAL mode, a busy timeout and the chosen fsync level."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine, sqlite_synchronous, immediate)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _configure_sqlite(engine: Engine, synchronous: str, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below own transaction start (pysqlite's own is lazy).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(store: Store) -> None:
    """Bring the schema to the newest migration (safe to call on every start)."""
    config = alembic_config()
    with store.write() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT many rows straight through the driver: the event log's hot path.

    SQLAlchemy's per-row parameter processing costs more than SQLite's insert itself at tens of
    thousands of rows a second, so this converts values once, the way the tables store them.
    """
    if not rows:
        return
    columns = list(rows[0])
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    if conn.dialect.name == "sqlite":
        stamps = [i for i, c in enumerate(columns) if isinstance(rows[0][c], datetime)]
        params = []
        for row in rows:
            values = [row[c] for c in columns]
            for i in stamps:
                values[i] = _sqlite_value(values[i])
            params.append(tuple(values))
    else:
        params = [tuple(row[c] for c in columns) for row in rows]
    conn.exec_driver_sql(sql, params)


def _sqlite_value(value: Any) -> Any:
    # The text form SQLAlchemy's SQLite DateTime stores (naive UTC, microseconds).
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds")
    return value
