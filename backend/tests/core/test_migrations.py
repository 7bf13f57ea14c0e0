"""Migrations: the start-up shortcut knows the newest revision, and a new database is migrated."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.migrations import (
    BACKEND_DIR,
    SCHEMA_REVISION,
    SNAPSHOT_HEADER,
    SQLITE_SNAPSHOT,
    SchemaNotCurrent,
    current_revision,
    dump_sqlite_schema,
    ensure_schema,
)


def test_schema_revision_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config(str(BACKEND_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(BACKEND_DIR / "alembic"))
    assert ScriptDirectory.from_config(config).get_heads() == [SCHEMA_REVISION]


async def test_an_old_database_is_migrated_in_a_child_process(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await asyncio.to_thread(alembic_upgrade, url, "0008")
    engine = create_async_engine(url)
    try:
        await ensure_schema(engine, url)
        assert await current_revision(engine) == SCHEMA_REVISION
    finally:
        await engine.dispose()


def everything(path: Path) -> dict[str, Any]:
    """All a SQLite file holds: its objects, every table's rows (the full-text shadow tables too), its settings."""
    connection = sqlite3.connect(path)
    try:
        objects = sorted(connection.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"), key=str)
        tables = [name for kind, name, _, sql in objects if kind == "table" and "VIRTUAL" not in (sql or "")]
        rows = {name: sorted(connection.execute(f'SELECT * FROM "{name}"'), key=str) for name in tables}  # noqa: S608
        pragmas = {name: connection.execute(f"PRAGMA {name}").fetchone()[0] for name in ("auto_vacuum", "encoding")}
        return {"objects": objects, "rows": rows, "pragmas": pragmas}
    finally:
        connection.close()


def test_the_sqlite_snapshot_is_what_the_migrations_make(tmp_path: Path) -> None:
    alembic_upgrade(f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}", "head")
    expected = SNAPSHOT_HEADER.format(revision=SCHEMA_REVISION) + dump_sqlite_schema(tmp_path / "migrated.db")
    assert SQLITE_SNAPSHOT.read_text() == expected, (
        "app/core/sqlite_schema.sql is not the schema the migrations make: run "
        "`cd backend && ../.venv/bin/python -m app.core.migrations --snapshot` and commit it"
    )


async def test_a_new_sqlite_database_gets_the_migrated_schema_without_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await asyncio.to_thread(alembic_upgrade, f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}", "head")

    async def no_child(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a new SQLite database must not need the migrations' child process")

    monkeypatch.setattr(asyncio, "create_subprocess_exec", no_child)
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    engine = create_async_engine(url)
    try:
        assert await current_revision(engine) is None  # the engine has opened (and so created) the file
        await ensure_schema(engine, url)
        assert await current_revision(engine) == SCHEMA_REVISION
    finally:
        await engine.dispose()
    assert everything(tmp_path / "new.db") == everything(tmp_path / "migrated.db")


async def test_a_broken_migration_stops_start_up() -> None:
    url = "sqlite+aiosqlite:////nonexistent-folder/x.db"
    engine = create_async_engine(url)
    with pytest.raises(RuntimeError, match="Database migration failed"):
        await ensure_schema(engine, url)
    await engine.dispose()


async def test_a_replica_that_must_not_migrate_refuses_an_old_schema(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await asyncio.to_thread(alembic_upgrade, url, "0008")
    engine = create_async_engine(url)
    try:
        with pytest.raises(SchemaNotCurrent, match=rf"revision 0008.*needs {SCHEMA_REVISION}.*app\.cli migrate"):
            await ensure_schema(engine, url, migrate=False)
        assert await current_revision(engine) == "0008"  # untouched: the migrate step owns it
    finally:
        await engine.dispose()


def alembic_upgrade(url: str, revision: str) -> None:
    from alembic.config import Config

    from alembic import command

    config = Config(str(BACKEND_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(BACKEND_DIR / "alembic"))
    config.attributes["database_url"] = url
    command.upgrade(config, revision)


@pytest.fixture
def empty_database_url(database_url: str, tmp_path: Path) -> Any:
    """A database of its own (a file, or a throwaway PostgreSQL database beside the test one)."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    from sqlalchemy.engine import make_url

    from tests.conftest import postgres_admin

    name = f"{make_url(database_url).database}_migration"
    postgres_admin(database_url, f'DROP DATABASE IF EXISTS "{name}"')
    postgres_admin(database_url, f'CREATE DATABASE "{name}"')
    yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    postgres_admin(database_url, f'DROP DATABASE IF EXISTS "{name}"')


def test_0002_turns_every_existing_conversation_into_a_chain(empty_database_url: str) -> None:
    import asyncio

    url = empty_database_url
    alembic_upgrade(url, "0001")

    async def populate() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO users (id, email, hashed_password, created_at, is_admin, is_active, token_version) "
                    "VALUES (1, 'a@example.com', 'x', CURRENT_TIMESTAMP, true, true, 0)"
                )
            )
            for conversation in (1, 2, 3):
                await connection.execute(
                    text(
                        "INSERT INTO conversations (id, user_id, title, created_at, updated_at) "
                        "VALUES (:id, 1, 't', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"id": conversation},
                )
            # Interleaved ids across conversations 1 and 2; conversation 3 stays empty.
            for message_id, conversation, role in [
                (1, 1, "user"), (2, 2, "user"), (3, 1, "assistant"), (4, 2, "assistant"), (5, 1, "user"),
                (6, 1, "assistant"), (7, 2, "user"),
            ]:  # fmt: skip
                await connection.execute(
                    text(
                        "INSERT INTO messages (id, conversation_id, role, content, status, created_at) "
                        "VALUES (:id, :c, :role, :content, 'complete', CURRENT_TIMESTAMP)"
                    ),
                    {"id": message_id, "c": conversation, "role": role, "content": f"m{message_id}"},
                )
        await engine.dispose()

    async def read() -> tuple[list[tuple[int, int | None]], list[tuple[int, int | None]]]:
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            messages = (await connection.execute(text("SELECT id, parent_id FROM messages ORDER BY id"))).all()
            active = (
                await connection.execute(text("SELECT id, active_message_id FROM conversations ORDER BY id"))
            ).all()
        await engine.dispose()
        return [tuple(row) for row in messages], [tuple(row) for row in active]  # type: ignore[misc]

    async def history() -> tuple[dict[int, list[str]], list[str]]:
        """What the app reads back: each conversation's page of messages, and the model's history."""
        from sqlalchemy.ext.asyncio import AsyncSession

        from app.models import Conversation
        from app.services.tree import active_page, path_history

        engine = create_async_engine(url)
        pages: dict[int, list[str]] = {}
        async with AsyncSession(engine) as session:
            for conversation_id in (1, 2, 3):
                conversation = await session.get(Conversation, conversation_id)
                assert conversation is not None
                page, has_more = await active_page(session, conversation, limit=100, before_id=None)
                assert has_more is False
                pages[conversation_id] = [message.content for message in page]
            model_history = [turn.content for turn in await path_history(session, 1, 6, 200)]
        await engine.dispose()
        return pages, model_history

    asyncio.run(populate())
    alembic_upgrade(url, "head")
    messages, active = asyncio.run(read())
    assert messages == [(1, None), (2, None), (3, 1), (4, 2), (5, 3), (6, 5), (7, 4)]
    assert active == [(1, 6), (2, 7), (3, None)]
    # The same history as before the upgrade, oldest first, for the person and for the model.
    pages, model_history = asyncio.run(history())
    assert pages == {1: ["m1", "m3", "m5", "m6"], 2: ["m2", "m4", "m7"], 3: []}
    assert model_history == ["m1", "m3", "m5", "m6"]


def test_0012_counts_each_days_reply_tokens_in_one_pass(empty_database_url: str) -> None:
    """The day counters get the tokens their day's replies carry, per user; other days stay 0."""
    import asyncio

    url = empty_database_url
    alembic_upgrade(url, "0011")

    async def populate() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as connection:
            for user in (1, 2):
                await connection.execute(
                    text(
                        "INSERT INTO users (id, email, hashed_password, created_at, is_admin, is_active, "
                        "token_version) VALUES (:id, :email, 'x', CURRENT_TIMESTAMP, false, true, 0)"
                    ),
                    {"id": user, "email": f"u{user}@example.com"},
                )
                await connection.execute(
                    text(
                        "INSERT INTO conversations (id, user_id, title, created_at, updated_at) "
                        "VALUES (:id, :id, 't', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"id": user},
                )
                for day in ("2026-11-29", "2026-11-30", "2026-12-01"):
                    await connection.execute(
                        text("INSERT INTO usage_days (user_id, day, messages) VALUES (:u, :d, 3)"),
                        {"u": user, "d": date.fromisoformat(day)},
                    )
            # (conversation, role, created_at, input_tokens, output_tokens); None: a reply from before 0009.
            rows = [
                (1, "assistant", "2026-11-30 10:00:00", 100, 20), (1, "assistant", "2026-11-30 23:59:59", 50, 5),
                (1, "user", "2026-11-30 11:00:00", 999, 999), (1, "assistant", "2026-12-01 00:00:01", 7, 3),
                (1, "assistant", "2026-11-29 08:00:00", None, None), (2, "assistant", "2026-11-30 12:00:00", 1, 2),
            ]  # fmt: skip
            for number, (conversation, role, created, tokens_in, tokens_out) in enumerate(rows, start=1):
                await connection.execute(
                    text(
                        "INSERT INTO messages (id, conversation_id, role, content, status, created_at, "
                        "input_tokens, output_tokens) VALUES (:id, :c, :role, 'x', 'complete', :at, :i, :o)"
                    ),
                    {
                        "id": number,
                        "c": conversation,
                        "role": role,
                        "at": datetime.fromisoformat(created).replace(tzinfo=UTC),
                        "i": tokens_in,
                        "o": tokens_out,
                    },
                )
        await engine.dispose()

    async def read() -> list[tuple[Any, ...]]:
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT user_id, day, input_tokens, output_tokens FROM usage_days ORDER BY user_id, day")
            )
            result = [(row[0], str(row[1]), row[2], row[3]) for row in rows]
        await engine.dispose()
        return result

    asyncio.run(populate())
    alembic_upgrade(url, "0012")
    assert asyncio.run(read()) == [
        (1, "2026-11-29", 0, 0),
        (1, "2026-11-30", 150, 25),
        (1, "2026-12-01", 7, 3),
        (2, "2026-11-29", 0, 0),
        (2, "2026-11-30", 1, 2),
        (2, "2026-12-01", 0, 0),
    ]


async def test_0002_history_reads_back_the_same_through_the_app(app_factory: Any, make_settings: Any) -> None:
    """The active path of a migrated chain is the whole conversation, oldest first, as before."""
    import httpx

    from tests.conftest import Api

    app = await app_factory(make_settings())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        api = Api(client, app)
        headers = await api.user("ana@example.com")
        first = (await client.post("/api/chat", headers=headers, json={"message": "one"})).json()
        conversation_id = first["conversation_id"]
        await client.post("/api/chat", headers=headers, json={"message": "two", "conversation_id": conversation_id})
        # What 0002 does to an old database: every parent from the previous id, the newest active.
        async with app.state.context.engine.begin() as connection:
            await connection.execute(text("UPDATE conversations SET active_message_id = NULL"))
        items = (await client.get(f"/api/conversations/{conversation_id}/messages", headers=headers)).json()["items"]
    assert [m["content"].split("\n")[0] for m in items] == ["one", "You said: one", "two", "You said: two"]


async def test_search_migration_indexes_an_existing_database(migrated: str) -> None:
    """A database with chats from before full-text search (0001) finds them after the upgrade."""
    import asyncio

    from alembic.config import Config

    from alembic import command
    from app.core.migrations import upgrade_database
    from app.services.search import search_conversations, search_messages
    from tests.conftest import empty_database

    config = Config(str(BACKEND_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(BACKEND_DIR / "alembic"))
    config.attributes["database_url"] = migrated
    await asyncio.to_thread(command.downgrade, config, "0001")
    engine = create_async_engine(migrated)
    try:
        async with engine.begin() as connection:
            now = datetime(2025, 1, 1, 10, tzinfo=UTC)
            user = (
                await connection.execute(
                    text(
                        "INSERT INTO users (email, hashed_password, created_at) VALUES ('old@example.com', 'x', :now)"
                        " RETURNING id"
                    ),
                    {"now": now},
                )
            ).scalar_one()
            conversation = (
                await connection.execute(
                    text(
                        "INSERT INTO conversations (user_id, title, created_at, updated_at)"
                        " VALUES (:u, 'Férias antigas', :now, :now) RETURNING id"
                    ),
                    {"u": user, "now": now},
                )
            ).scalar_one()
            await connection.execute(
                text(
                    "INSERT INTO messages (conversation_id, role, content, status, created_at)"
                    " VALUES (:c, 'user', 'Reservei a pousada em Paraty', 'complete', :now)"
                ),
                {"c": conversation, "now": now},
            )
        await asyncio.to_thread(upgrade_database, migrated)
        from sqlalchemy.ext.asyncio import AsyncSession

        async with AsyncSession(engine) as session:
            hits, _ = await search_messages(session, user, "paraty", limit=10, offset=0)
            assert [hit.conversation_id for hit in hits] == [conversation]
            assert "<mark>Paraty</mark>" in hits[0].snippet
            found, total = await search_conversations(session, user, "ferias", limit=10, offset=0)
            assert total == 1
            assert found[0].conversation.id == conversation
    finally:
        await engine.dispose()
        await asyncio.to_thread(upgrade_database, migrated)
        await empty_database(migrated)
