"""The one-trip aiosqlite adapter: same results as SQLAlchemy's own, one thread trip per statement."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.core.db import WalCheckpointer, create_engine, create_sessionmaker
from app.core.migrations import ensure_schema
from app.core.sqlite import OneTripConnection
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
