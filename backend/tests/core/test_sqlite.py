"""The one-trip aiosqlite adapter: same results as SQLAlchemy's own, one thread trip per statement."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.core.db import WalCheckpointer, create_engine, create_sessionmaker
from app.core.migrations import ensure_schema
from app.core.sqlite import OneTripConnection, WriterLock, opens_write_transaction
from app.core.writes import Write, commit_writes
from app.models import Conversation, Message, User


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    # Its own SQLite file, whatever TEST_DATABASE_URL says: this adapter exists for SQLite only.
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/chat.db", data_dir=tmp_path)
    engine = create_engine(settings)
    await ensure_schema(engine, settings.sqlalchemy_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every call sent to a connection's thread, by name."""
    seen: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(fn, "__name__", "?"))
        return await original(self, fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return seen


async def test_the_engine_uses_the_one_trip_connection(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.dbapi_connection, OneTripConnection)
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1


async def test_a_chat_turn_takes_one_trip_per_statement(engine: AsyncEngine, trips: list[str]) -> None:
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        user = User(email="ana@example.com", hashed_password="x")
        session.add(user)
        await session.commit()
    trips.clear()
    async with sessionmaker() as session:
        assert await session.get(User, user.id) is not None
        conversation = Conversation(user_id=user.id)
        session.add(conversation)
        await session.flush()
        session.add(Message(conversation_id=conversation.id, role="user", content="Olá", status="complete"))
        await session.commit()
    # SELECT user, INSERT conversation, INSERT message, COMMIT; no rollback on close (nothing to undo).
    assert trips == ["_execute", "_execute", "_execute", "commit"]


async def test_results_rowcounts_and_ids_match_sqlite(engine: AsyncEngine) -> None:
    users = User.__table__
    async with engine.begin() as conn:
        inserted = await conn.execute(insert(users).values(email="a@example.com", hashed_password="x"))
        assert inserted.inserted_primary_key is not None
        first_id = inserted.inserted_primary_key[0]
        returned = await conn.execute(
            insert(users).values(email="b@example.com", hashed_password="y").returning(users.c.id, users.c.email)
        )
        assert tuple(returned.one()) == (first_id + 1, "b@example.com")
        many = await conn.execute(
            insert(users), [{"email": f"u{i}@example.com", "hashed_password": "z"} for i in range(3)]
        )
        assert many.rowcount == 3
        changed = await conn.execute(update(users).where(users.c.hashed_password == "z").values(is_admin=True))
        assert changed.rowcount == 3
        rows = (await conn.execute(select(users.c.email).order_by(users.c.id))).scalars().all()
        assert rows == ["a@example.com", "b@example.com", "u0@example.com", "u1@example.com", "u2@example.com"]
        assert (await conn.execute(select(users.c.id).where(users.c.id == -1))).first() is None
        removed = await conn.execute(delete(users).where(users.c.email.like("u%")))
        assert removed.rowcount == 3


async def test_rollback_undoes_and_errors_are_sqlalchemy_errors(engine: AsyncEngine) -> None:
    users = User.__table__
    async with engine.connect() as conn:
        await conn.execute(insert(users).values(email="kept@example.com", hashed_password="x"))
        await conn.commit()
        await conn.execute(insert(users).values(email="undone@example.com", hashed_password="x"))
        await conn.rollback()
        with pytest.raises(IntegrityError):
            await conn.execute(insert(users).values(email="kept@example.com", hashed_password="x"))
        await conn.rollback()
        emails = (await conn.execute(select(users.c.email))).scalars().all()
    assert emails == ["kept@example.com"]


async def test_nothing_to_commit_or_roll_back_costs_no_trip(engine: AsyncEngine, trips: list[str]) -> None:
    async with engine.connect() as conn:
        await conn.execute(select(User.__table__.c.id))
        await conn.commit()
        await conn.rollback()
    assert trips == ["_execute"]


async def _writer_lock(conn: Any) -> WriterLock | None:
    raw = await conn.get_raw_connection()
    adapted: OneTripConnection = raw.dbapi_connection
    return adapted._writer


async def _wait_until(condition: Any) -> None:
    async with asyncio.timeout(5.0):
        while not condition():  # noqa: ASYNC110 - a lock's queue has no event to wait on
            await asyncio.sleep(0)


async def test_a_second_writer_queues_on_the_lock_and_goes_as_soon_as_the_first_commits(engine: AsyncEngine) -> None:
    """No sleeping in SQLite's busy handler: the waiting writer takes the lock the moment it frees."""
    users = User.__table__
    async with engine.connect() as first, engine.connect() as second:
        await first.execute(insert(users).values(email="first@example.com", hashed_password="x"))
        lock = await _writer_lock(first)
        assert lock is not None
        assert lock.locked()
        assert (await second.execute(select(users.c.id))).all() == []  # reads never wait for it

        async def write_second() -> float:
            await second.execute(insert(users).values(email="second@example.com", hashed_password="x"))
            written = asyncio.get_running_loop().time()
            await second.commit()
            return written

        waiting = asyncio.create_task(write_second())
        await _wait_until(lambda: bool(lock._waiters))  # queued on the lock, not on SQLite's lock
        assert not waiting.done()
        await first.commit()
        committed = asyncio.get_running_loop().time()
        written = await waiting
        assert written - committed < 0.05  # SQLite's busy handler would have slept its next 1-100 ms step
        assert not lock.locked()
        emails = (await first.execute(select(users.c.email).order_by(users.c.id))).scalars().all()
    assert emails == ["first@example.com", "second@example.com"]


async def test_the_lock_is_released_by_rollback_close_and_a_failed_first_statement(engine: AsyncEngine) -> None:
    users = User.__table__
    async with engine.connect() as conn:
        await conn.execute(insert(users).values(email="a@example.com", hashed_password="x"))
        lock = await _writer_lock(conn)
        assert lock is not None
        await conn.rollback()
        assert not lock.locked()
        assert await _writer_lock(conn) is None
        await conn.execute(insert(users).values(email="a@example.com", hashed_password="x"))
        await conn.commit()
        with pytest.raises(IntegrityError):  # failed inside the transaction it opened: held until rollback
            await conn.execute(insert(users).values(email="a@example.com", hashed_password="x"))
        assert lock.locked()
        await conn.rollback()
        assert not lock.locked()
        await conn.execute(update(users).values(is_admin=True))
    # Closed mid-transaction (the pool rolls it back on check-in): the next writer is not blocked.
    assert not lock.locked()
    async with engine.begin() as conn:
        await conn.execute(delete(users))


async def test_a_writer_waiting_past_the_busy_timeout_gets_database_is_locked(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/chat.db", data_dir=tmp_path)
    engine = create_engine(settings)
    try:
        await ensure_schema(engine, settings.sqlalchemy_url)
        users = User.__table__
        async with engine.connect() as first, engine.connect() as second:
            raw = await second.get_raw_connection()
            raw.dbapi_connection._lock_timeout_s = 0.05  # type: ignore[union-attr]
            await first.execute(insert(users).values(email="first@example.com", hashed_password="x"))
            with pytest.raises(OperationalError, match="database is locked"):
                await second.execute(insert(users).values(email="second@example.com", hashed_password="x"))
            await second.rollback()
            await first.commit()
            await second.execute(insert(users).values(email="second@example.com", hashed_password="x"))
            await second.commit()
    finally:
        await engine.dispose()


@pytest.mark.parametrize("how", ["statement", "one trip"])
async def test_a_write_cancelled_before_its_thread_ran_it_leaves_nothing_locked(tmp_path: Path, how: str) -> None:
    """A task cancelled while its write waits in the connection's queue: the thread still runs it
    afterwards. SQLAlchemy invalidates a connection whose statement was cancelled and terminates it
    without close(): the writer lock was never released, and every later writer got "database is
    locked". The one-trip batch commits or rolls back in the thread by itself."""
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/chat.db", data_dir=tmp_path)
    engine = create_engine(settings)
    try:
        await ensure_schema(engine, settings.sqlalchemy_url)
        users = User.__table__
        queued = asyncio.Event()
        blocking, release_thread = threading.Event(), threading.Event()

        def block() -> None:
            blocking.set()
            release_thread.wait(5.0)

        async def cancelled_writer() -> None:
            async with create_sessionmaker(engine)() as session:
                raw = await (await session.connection()).get_raw_connection()
                driver: aiosqlite.Connection = raw.driver_connection  # type: ignore[assignment]
                # Keep the connection's thread busy, so the write below waits in its queue.
                blocker = asyncio.ensure_future(driver._execute(block))
                await asyncio.to_thread(blocking.wait, 5.0)
                queued.set()
                try:
                    statement = insert(users).values(email="cancelled@example.com", hashed_password="x")
                    if how == "statement":
                        await session.execute(statement)
                    else:
                        await commit_writes(session, [Write(statement)])
                finally:
                    release_thread.set()
                    await blocker

        task = asyncio.create_task(cancelled_writer())
        await queued.wait()
        await asyncio.sleep(0.02)  # the write is queued behind the blocker
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with engine.connect() as other:
            raw = await other.get_raw_connection()
            raw.dbapi_connection._lock_timeout_s = 2.0  # type: ignore[union-attr]
            await other.execute(insert(users).values(email="next@example.com", hashed_password="x"))
            await other.commit()
            emails = set((await other.execute(select(users.c.email))).scalars())
        # The statement's transaction was rolled back; the one-trip batch committed itself in the thread.
        assert emails == ({"next@example.com"} if how == "statement" else {"cancelled@example.com", "next@example.com"})
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("statement", "opens"),
    [
        ("INSERT INTO t VALUES (1)", True),
        ("  \n\tupdate t SET a = 1", True),
        ("DELETE FROM t", True),
        ("REPLACE INTO t VALUES (1)", True),
        ("SELECT 1", False),
        ("WITH x AS (SELECT 1) SELECT * FROM x", False),
        ("PRAGMA foreign_keys", False),
    ],
)
def test_which_statements_take_the_writer_lock(statement: str, opens: bool) -> None:
    """The statements before which Python's sqlite3 opens a transaction itself (CPython's own test)."""
    assert opens_write_transaction(statement) is opens


def test_the_adapter_was_checked_against_the_installed_libraries() -> None:
    """app/core/sqlite.py reaches into private parts of SQLAlchemy and aiosqlite: an upgrade must re-check them."""
    from importlib.metadata import version

    from app.core.sqlite import CHECKED_AGAINST, PRIVATE_PARTS_USED

    changed = {name: version(name) for name, checked in CHECKED_AGAINST.items() if version(name) != checked}
    assert not changed, (
        f"installed {changed} differ from the versions app/core/sqlite.py was checked against {CHECKED_AGAINST}. "
        "Re-check what it uses: " + "; ".join(PRIVATE_PARTS_USED) + ". Then update CHECKED_AGAINST."
    )


async def write_some(engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        session.add_all(User(email=f"u{n}@example.com", hashed_password="x" * 200) for n in range(300))
        await session.commit()


async def poll(condition: Any, what: str, tries: int = 500) -> None:
    for _ in range(tries):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def test_the_log_is_checkpointed_in_the_background_while_idle(engine: AsyncEngine, tmp_path: Path) -> None:
    database = tmp_path / "chat.db"
    await write_some(engine)
    size_before = database.stat().st_size  # the new rows are still only in the write-ahead log
    checkpointer = WalCheckpointer(database, idle=lambda: True, every_s=0.01)
    checkpointer.start()
    try:
        await poll(lambda: checkpointer.checkpoints >= 1, "a checkpoint")
        assert database.stat().st_size > size_before  # copied into the database file
        rounds = checkpointer.rounds
        await poll(lambda: checkpointer.rounds >= rounds + 5, "more rounds")
        assert checkpointer.checkpoints == 1  # nothing new in the log: nothing done
    finally:
        await checkpointer.stop()


async def test_no_checkpoint_while_the_server_is_busy(engine: AsyncEngine, tmp_path: Path) -> None:
    busy = True
    checkpointer = WalCheckpointer(tmp_path / "chat.db", idle=lambda: not busy, every_s=0.01)
    checkpointer.start()
    try:
        await write_some(engine)
        await poll(lambda: checkpointer.rounds >= 10, "ten rounds")
        assert checkpointer.checkpoints == 0
        busy = False
        await poll(lambda: checkpointer.checkpoints == 1, "the checkpoint once idle")
    finally:
        await checkpointer.stop()


async def test_a_failing_checkpoint_is_logged_and_retried(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = tmp_path / "gone"
    folder.mkdir()
    (folder / "chat.db-wal").write_bytes(b"")  # a log to checkpoint, of a database that cannot be opened
    (folder / "chat.db").mkdir()
    checkpointer = WalCheckpointer(folder / "chat.db", idle=lambda: True, every_s=0.01)
    checkpointer.start()
    try:
        await poll(lambda: checkpointer.rounds >= 5, "five rounds")
        assert checkpointer._task is not None
        assert not checkpointer._task.done()  # still running
        assert "background WAL checkpoint failed" in caplog.text
    finally:
        await checkpointer.stop()


async def test_the_writer_lock_is_first_come_first_served_and_survives_cancelled_waiters() -> None:
    lock = WriterLock()
    assert lock.try_acquire()
    order: list[str] = []

    async def take(name: str) -> None:
        await lock.acquire(5.0)
        order.append(name)
        await asyncio.sleep(0)
        lock.release()

    first = asyncio.create_task(take("first"))
    cancelled = asyncio.create_task(take("cancelled"))
    last = asyncio.create_task(take("last"))
    await _wait_until(lambda: len(lock._waiters) == 3)
    cancelled.cancel()
    lock.release()
    await asyncio.gather(first, last)
    assert cancelled.cancelled()
    assert order == ["first", "last"]
    assert not lock.locked()
    assert lock.try_acquire()  # free again, taken at once


async def test_a_writer_lock_handed_over_as_its_waiter_is_cancelled_goes_to_the_next() -> None:
    lock = WriterLock()
    assert lock.try_acquire()
    waiter = asyncio.create_task(lock.acquire(5.0))
    after = asyncio.create_task(lock.acquire(5.0))
    await _wait_until(lambda: len(lock._waiters) == 2)
    lock.release()  # handed to `waiter`...
    waiter.cancel()  # ...cancelled before it ran: the lock passes on to `after`
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await after
    assert lock.locked()
    lock.release()
    assert not lock.locked()


async def test_a_writer_lock_wait_past_its_timeout_is_database_is_locked() -> None:
    lock = WriterLock()
    assert lock.try_acquire()
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        await lock.acquire(0.01)
    lock.release()
    assert not lock.locked()
