"""Database engine and sessions: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from app.core.config import Settings
from app.core.sqlite import one_trip_dbapi

SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_POOL_SIZE = 5


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # WAL + NORMAL survives a process crash (only an OS crash can lose the last commits).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def ensure_sqlite_folder(settings: Settings) -> None:
    """SQLite creates the file but not its folder."""
    if settings.is_sqlite:
        database = make_url(settings.sqlalchemy_url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.sqlalchemy_url
    if settings.is_sqlite:
        ensure_sqlite_folder(settings)
        # hide_parameters: a database error logged with its statement must not carry message text.
        # A few connections and no overflow: SQLite has one writer at a time, and 15 connections
        # writing at once (a burst of streams each saving its reply) wait on each other's locks in
        # SQLite's busy handler (sleeps of up to 100 ms) until "database is locked".
        database = make_url(url).database
        in_memory = not database or database == ":memory:"  # one shared connection (StaticPool)
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
