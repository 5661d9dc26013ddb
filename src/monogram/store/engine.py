"""Engine factory and migrations: SQLite (WAL) by default, PostgreSQL through psycopg."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

MIGRATIONS = Path(__file__).parent / "migrations"
# How long a SQLite writer waits for another process's write to end (SQLite's busy timeout).
WRITER_WAIT_S = 30.0
log = logging.getLogger("monogram.store")


class Store:
    """The database: a writer engine and a reader engine over the same URL.

    On SQLite, write transactions start with ``BEGIN IMMEDIATE`` so two writers queue on the
    busy timeout instead of failing when one upgrades its read lock; readers use plain
    transactions and, in WAL mode, never wait for writers. On PostgreSQL both are one engine.
    """

    def __init__(
        self,
        url: str,
        *,
        sqlite_synchronous: str = "FULL",
        statement_timeout_s: float = 300,
        pool_size: int = 10,
    ) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self.engine = make_engine(
            url,
            sqlite_synchronous=sqlite_synchronous,
            immediate=True,
            statement_timeout_s=statement_timeout_s,
            pool_size=pool_size,
        )
        self.reader = (
            make_engine(url, sqlite_synchronous=sqlite_synchronous)
            if self.is_sqlite
            else self.engine
        )
        # SQLite has one writer at a time. Queue writers on locks rather than on SQLite's busy
        # handler, which sleeps in growing steps (up to 100 ms) and leaves the file idle: a
        # thread lock for this process and a file lock beside the database for the others
        # (server workers, campaign worker processes, an import running at the same time).
        self._write_lock = threading.Lock() if self.is_sqlite else None
        database = make_url(url).database if self.is_sqlite else None
        self._lock_file = (
            Path(f"{database}-writer.lock") if database and database != ":memory:" else None
        )
        self._lock_fd: int | None = None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back on an error."""
        if self._write_lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._write_lock, self._other_processes(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _other_processes(self) -> Iterator[None]:
        """Hold the database's writer file lock (where the platform has one and the file can
        be opened), waiting at most as long as SQLite's own busy timeout."""
        fd = self._lock_descriptor()
        if fd is None:
            yield
            return
        waited, pause = 0.0, 0.0005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if waited >= WRITER_WAIT_S:
                    raise OperationalError(
                        "waiting for the database's writer lock",
                        None,
                        TimeoutError(
                            f"another process held {self._lock_file} for {WRITER_WAIT_S:.0f} s"
                        ),
                    ) from None
                time.sleep(pause)
                waited += pause
                pause = min(pause * 2, 0.005)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _lock_descriptor(self) -> int | None:
        if fcntl is None or self._lock_file is None:
            return None
        if self._lock_fd is None:
            try:
                self._lock_fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:  # made by another user, say: SQLite's busy handler alone
                log.warning(
                    "writers queue on SQLite's busy handler: cannot open %s (%s)",
                    self._lock_file,
                    exc,
                )
                self._lock_file = None
                return None
        return self._lock_fd

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.reader.connect() as conn:
            yield conn

    def checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database and empty it, so rows deleted
        (and overwritten, with secure_delete) leave no copy in the log. PostgreSQL: nothing."""
        if not self.is_sqlite:
            return
        self.reader.dispose()  # idle readers would pin old pages of the log
        with self._write_lock or threading.Lock(), self._other_processes():
            raw = self.engine.raw_connection()
            try:
                raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
            finally:
                raw.close()

    def dispose(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        self.engine.dispose()
        if self.reader is not self.engine:
            self.reader.dispose()


def exclusive(conn: Connection, name: str) -> None:
    """Hold ``name`` until this transaction ends: writers of the same thing queue here instead
    of racing. PostgreSQL: a transaction-level advisory lock (several API workers and
    ``monogram ingest`` processes folding the same people). SQLite: nothing to do, it has one
    writer at a time."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"monogram:{name}",))


def make_engine(
    url: str,
    *,
    sqlite_synchronous: str = "FULL",
    immediate: bool = False,
    statement_timeout_s: float = 300,
    pool_size: int = 10,
) -> Engine:
    """Create an engine; SQLite files get WAL mode, a busy timeout and the chosen fsync level."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database)
            path.parent.mkdir(parents=True, exist_ok=True)
            # Customer data: only the owner may read the file (SQLite gives its -wal and -shm
            # files the same mode).
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            os.chmod(path, 0o600)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine, sqlite_synchronous, immediate)
        return engine
    # psycopg prepares a statement after a few runs, and PostgreSQL may then keep a generic
    # plan costed while a table was still small: a sequential scan that grows with the table
    # (the dedupe lookup of an import went from 1 ms to 160 ms a batch at 100,000 events).
    # Custom plans cost a fraction of a millisecond to make and always see the real sizes.
    options = "-c plan_cache_mode=force_custom_plan"
    options += f" -c statement_timeout={int(statement_timeout_s * 1000)}"
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=30,
        connect_args={"options": options, "connect_timeout": 10},
    )


def _configure_sqlite(engine: Engine, synchronous: str, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below own transaction start (pysqlite's own is lazy).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # Deleted rows are overwritten, not left in free pages: erasure must really erase.
        cursor.execute("PRAGMA secure_delete=ON")
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
        # Several server workers start at once: one migrates, the others wait and find the
        # schema current (SQLite's writers queue anyway).
        exclusive(connection, "migrations")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT many rows straight through the driver: the ingestion hot path.

    SQLAlchemy's per-row parameter processing costs more than SQLite's insert itself at tens of
    thousands of rows a second, so values are converted once here, the way the tables store
    them (see ``_converter``).
    """
    if not rows:
        return
    columns = list(rows[0])
    if conn.dialect.name == "postgresql":
        _copy(conn, table, columns, rows)
        return
    mark = _mark(conn)
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    conn.exec_driver_sql(sql, _params(conn, table, columns, rows))


def _copy(conn: Connection, table: Table, columns: list[str], rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: the rows through ``COPY ... FROM STDIN`` in the connection's transaction,
    several times faster than a pipelined INSERT per row. JSON goes as its text."""
    from sqlalchemy import JSON

    raw: Any = conn.connection.driver_connection
    as_text = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, JSON)]
    pick = itemgetter(*columns)
    sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            picked = pick(row)
            values = list(picked) if len(columns) > 1 else [picked]
            for i in as_text:
                if values[i] is not None:
                    values[i] = orjson.dumps(values[i]).decode()
            copy.write_row(values)


def bulk_update(conn: Connection, table: Table, key: str, rows: list[dict[str, Any]]) -> None:
    """UPDATE many rows by ``key`` through the driver (same conversions as ``bulk_insert``)."""
    if not rows:
        return
    columns = [c for c in rows[0] if c != key]
    mark = _mark(conn)
    sql = (
        f"UPDATE {table.name} SET {', '.join(f'{c} = {mark}' for c in columns)} "
        f"WHERE {key} = {mark}"
    )
    conn.exec_driver_sql(sql, _params(conn, table, [*columns, key], rows))


def bulk_sql(
    conn: Connection, sql: str, table: Table, columns: list[str], rows: list[dict[str, Any]]
) -> None:
    """Run ``sql`` (placeholders written ``{mark}``) once per row, values converted for
    ``table``'s column types in the order ``columns`` gives."""
    if rows:
        conn.exec_driver_sql(sql.format(mark=_mark(conn)), _params(conn, table, columns, rows))


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _params(
    conn: Connection, table: Table, columns: list[str], rows: list[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    converters = [_converter(table.c[c].type, conn.dialect.name) for c in columns]
    plan = [(i, f) for i, f in enumerate(converters) if f is not None]
    pick = itemgetter(*columns)
    out = []
    for row in rows:
        picked = pick(row)
        values = list(picked) if len(columns) > 1 else [picked]
        for i, convert in plan:
            if values[i] is not None:
                values[i] = convert(values[i])
        out.append(tuple(values))
    return out


def _converter(column_type: Any, dialect: str) -> Any:
    from sqlalchemy import JSON

    from monogram.store.tables import UTCDateTime

    if isinstance(column_type, UTCDateTime) and dialect == "sqlite":
        return _sqlite_time
    if isinstance(column_type, JSON):
        if dialect == "postgresql":
            from psycopg.types.json import Json

            return lambda value: Json(value, dumps=lambda v: orjson.dumps(v).decode())
        return lambda value: orjson.dumps(value).decode()
    return None


def _sqlite_time(value: datetime) -> str:
    # The text form SQLAlchemy's SQLite DateTime stores (naive UTC, microseconds).
    if value.tzinfo is None:
        return value.isoformat(sep=" ", timespec="microseconds")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(sep=" ", timespec="microseconds")[:-6]
