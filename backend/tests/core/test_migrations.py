"""Migrations: the start-up shortcut knows the newest revision, and a new database is migrated."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.migrations import BACKEND_DIR, SCHEMA_REVISION, current_revision, ensure_schema


def test_schema_revision_is_alembics_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config(str(BACKEND_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(BACKEND_DIR / "alembic"))
    assert ScriptDirectory.from_config(config).get_heads() == [SCHEMA_REVISION]


async def test_a_new_database_is_migrated_in_a_child_process(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    engine = create_async_engine(url)
    try:
        assert await current_revision(engine) is None
        await ensure_schema(engine, url)
        assert await current_revision(engine) == SCHEMA_REVISION
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))
            tables = {row[0] for row in rows}
        assert {"users", "conversations", "messages"} <= tables
    finally:
        await engine.dispose()


async def test_a_broken_migration_stops_start_up() -> None:
    url = "sqlite+aiosqlite:////nonexistent-folder/x.db"
    engine = create_async_engine(url)
    with pytest.raises(RuntimeError, match="Database migration failed"):
        await ensure_schema(engine, url)
    await engine.dispose()


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
