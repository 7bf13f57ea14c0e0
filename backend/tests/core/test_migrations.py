"""Migrations: the start-up shortcut knows the newest revision, and a new database is migrated."""

from __future__ import annotations

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
