"""Apply Alembic migrations (at start-up and from the CLI).

At start-up the schema's revision is read with plain SQL: when it is current, Alembic is not even
imported (it would stay in the server's memory for nothing, ~10 MB); when it is not, the upgrade
runs in a child process for the same reason.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

BACKEND_DIR = Path(__file__).resolve().parents[2]
# The newest revision in alembic/versions (tests/core/test_migrations.py checks they agree).
SCHEMA_REVISION = "0011"
URL_VARIABLE = "CONVERSA_MIGRATE_URL"  # not argv: a PostgreSQL password must not show in `ps`


def upgrade_database(database_url: str) -> None:
    """Bring the schema to the newest revision (runs its own event loop: call it from a thread)."""
    from alembic.config import Config

    from alembic import command

    config = Config(str(BACKEND_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(BACKEND_DIR / "alembic"))
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


async def current_revision(engine: AsyncEngine) -> str | None:
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except Exception:  # no alembic_version table yet: a new database
        return None


async def ensure_schema(engine: AsyncEngine, database_url: str) -> None:
    """Migrate when the database is behind; cheap when it is current."""
    if await current_revision(engine) == SCHEMA_REVISION:
        return
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.core.migrations",
        cwd=BACKEND_DIR,
        env={**os.environ, URL_VARIABLE: database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"Database migration failed:\n{output.decode(errors='replace')}")


if __name__ == "__main__":
    upgrade_database(os.environ[URL_VARIABLE])
