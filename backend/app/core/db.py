"""Database engine and sessions: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.core.config import Settings
from app.core.sqlite import one_trip_dbapi

SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_POOL_SIZE = 5
CHECKPOINT_EVERY_S = 1.0
logger = logging.getLogger("app.db")


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # WAL + NORMAL survives a process crash (only an OS crash can lose the last commits).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class WalCheckpointer:
    """Copies SQLite's write-ahead log back into the database file while the server is idle.

    By default SQLite checkpoints inside the commit that takes the log past 1,000 pages (every ~60
    chat turns here): that turn's commit copies 4 MB and syncs the file. In a run of 100 sequential
    chats the three slowest first tokens (10.9-12.6 ms against a p50 of 6.1 ms) were turns whose log
    crossed 4 MB. Checkpointing every second regardless read worse in one such run (p90 7.3 -> 9.1
    ms, max 16 ms): the copies then overlapped requests. So this checkpoints only when `idle()` says
    nothing is being admitted or generated and the log changed since the last round; under load
    with no idle moment, SQLite's own checkpoint still bounds the log.
    """

    def __init__(self, path: Path, idle: Callable[[], bool], every_s: float = CHECKPOINT_EVERY_S) -> None:
        self.path = path
        self.wal = path.with_name(path.name + "-wal")
        self.idle = idle
        self.every_s = every_s
        self.rounds = 0  # wake-ups, idle or not
        self.checkpoints = 0  # checkpoints that copied at least one page
        self._task: asyncio.Task[None] | None = None
        self._seen: tuple[int, int] | None = None  # the log file's (mtime, size) when last checkpointed

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sqlite-wal-checkpoint")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _log_changed(self) -> bool:
        try:
            stat = self.wal.stat()
        except FileNotFoundError:
            return False
        return (stat.st_mtime_ns, stat.st_size) != self._seen

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            self.rounds += 1
            if not self.idle() or not self._log_changed():
                continue
            try:
                copied, self._seen = await asyncio.to_thread(self._checkpoint)
            except (sqlite3.Error, OSError) as exc:  # busy, I/O, the log gone: the next round tries again
                logger.warning("background WAL checkpoint failed: %s", exc)
                continue
            if copied:
                self.checkpoints += 1

    def _checkpoint(self) -> tuple[bool, tuple[int, int]]:
        """One PASSIVE checkpoint on a connection of its own (opened per round: nothing is left
        behind when the server stops mid-round; `mode=rw` never creates a missing database)."""
        connection = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=rw", uri=True, timeout=1.0)
        try:
            row = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            connection.close()
        wal = self.wal.stat()
        return row is not None and row[2] > 0, (wal.st_mtime_ns, wal.st_size)


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def ensure_sqlite_folder(settings: Settings) -> None:
    """SQLite creates the file but not its folder."""
    database = sqlite_file(settings.sqlalchemy_url)
    if database is not None:
        database.parent.mkdir(parents=True, exist_ok=True)


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.sqlalchemy_url
    if settings.is_sqlite:
        ensure_sqlite_folder(settings)
        # hide_parameters: a database error logged with its statement must not carry message text.
        # A few connections and no overflow: SQLite has one writer at a time, and 15 connections
        # writing at once (a burst of streams each saving its reply) wait on each other's locks in
        # SQLite's busy handler (sleeps of up to 100 ms) until "database is locked".
        in_memory = sqlite_file(url) is None  # one shared connection (StaticPool)
        pool: dict[str, Any] = {} if in_memory else {"pool_size": SQLITE_POOL_SIZE, "max_overflow": 0}
        if make_url(url).get_driver_name() == "aiosqlite":
            pool["module"] = one_trip_dbapi()  # one thread trip per statement (app/core/sqlite.py)
        engine = create_async_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, hide_parameters=True, **pool
        )
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, hide_parameters=True)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def session_scope(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session
