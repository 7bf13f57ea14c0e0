"""Apply Alembic migrations (at start-up and from the CLI).

At start-up the schema's revision is read with plain SQL: when it is current, Alembic is not even
imported (it would stay in the server's memory for nothing, ~10 MB); when it is not, the upgrade
runs in a child process for the same reason. A new, empty SQLite file (the first `make run`, a new
volume) gets the newest schema from `sqlite_schema.sql`, the dump of a database Alembic migrated
(tests/core/test_migrations.py fails when it differs): in ~10 ms, where the child process took
~1.1 s of the 3 s a first start may take (bench/run.py's cold-start row).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.db import sqlite_file

BACKEND_DIR = Path(__file__).resolve().parents[2]
# The newest revision in alembic/versions (tests/core/test_migrations.py checks they agree).
SCHEMA_REVISION = "0013"
URL_VARIABLE = "CONVERSA_MIGRATE_URL"  # not argv: a PostgreSQL password must not show in `ps`
SQLITE_SNAPSHOT = Path(__file__).with_name("sqlite_schema.sql")
SNAPSHOT_HEADER = (
    "-- The schema of a new SQLite database at revision {revision}, as Alembic's migrations leave it.\n"
    "-- Generated: `python -m app.core.migrations --snapshot` (tests/core/test_migrations.py checks it).\n"
)
_KINDS = ("table", "index", "trigger", "view")  # the order a dump creates them in


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


def dump_sqlite_schema(path: Path) -> str:
    """The SQL that recreates this database's schema and rows (the rows of a new one: its revision)."""
    connection = sqlite3.connect(path)
    try:
        shadow = {row[1] for row in connection.execute("PRAGMA table_list") if row[2] == "shadow"}
        objects = connection.execute(
            "SELECT type, name, sql FROM sqlite_master "
            "WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
        ).fetchall()
        objects = [row for row in objects if row[1] not in shadow]
        objects.sort(key=lambda row: _KINDS.index(row[0]))
        lines = [f"PRAGMA auto_vacuum = {connection.execute('PRAGMA auto_vacuum').fetchone()[0]};"]
        lines += [f"{sql};" for _, _, sql in objects]
        tables = [
            name for kind, name, sql in objects if kind == "table" and not sql.upper().startswith("CREATE VIRTUAL")
        ]
        # A full-text index keeps its settings (its ranking) and its structure in shadow tables, which
        # CREATE VIRTUAL TABLE fills with defaults: their rows replace those, the others are inserted.
        filled = [(name, "INSERT") for name in tables] + [(name, "INSERT OR REPLACE") for name in sorted(shadow)]
        for name, verb in filled:
            columns = [row[1] for row in connection.execute(f'PRAGMA table_info("{name}")')]
            quoted = " || ',' || ".join(f'quote("{column}")' for column in columns)
            # The names are the schema's own (sqlite_master), not input.
            for (values,) in connection.execute(f'SELECT {quoted} FROM "{name}" ORDER BY 1'):  # noqa: S608
                lines.append(f'{verb} INTO "{name}" VALUES({values});')
        return "\n".join(lines) + "\n"
    finally:
        connection.close()


def _statements(script: str) -> Iterator[str]:
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""


def create_from_snapshot(path: Path) -> bool:
    """Create the newest schema in `path` when it holds none (False: it has tables, leave it to Alembic).

    One transaction: a start that crashes midway leaves an empty file, as before it began."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        if connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
            return False
        statements = list(_statements(SQLITE_SNAPSHOT.read_text()))
        connection.execute(statements[0])  # PRAGMA auto_vacuum: before the first table, outside a transaction
        connection.execute("BEGIN IMMEDIATE")
        if connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:  # another process was first
            connection.execute("ROLLBACK")
            return False
        for statement in statements[1:]:
            connection.execute(statement)
        connection.execute("COMMIT")
        return True
    finally:
        connection.close()


class SchemaNotCurrent(RuntimeError):
    """The database is not at this version's schema and this instance must not migrate it."""


async def ensure_schema(engine: AsyncEngine, database_url: str, *, migrate: bool = True) -> None:
    """Migrate when the database is behind (unless `migrate` is false: then refuse); cheap when it is current."""
    revision = await current_revision(engine)
    if revision == SCHEMA_REVISION:
        return
    if not migrate:
        raise SchemaNotCurrent(
            f"The database schema is at revision {revision or 'none (an empty database)'}, but this version "
            f"of Conversa needs {SCHEMA_REVISION}. MIGRATE_ON_START is false, so this instance does not "
            "migrate: run the migrations once (`python -m app.cli migrate`, the `migrate` service of "
            "docker-compose.scale.yml), then start the replicas."
        )
    path = sqlite_file(database_url)
    if revision is None and path is not None:
        try:
            if await asyncio.to_thread(create_from_snapshot, path):
                return
        except sqlite3.Error as exc:
            raise RuntimeError(f"Database migration failed: {path}: {exc}") from exc
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


def write_snapshot() -> None:
    """Migrate a new SQLite file with Alembic and write its dump to `sqlite_schema.sql`."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "new.db"
        upgrade_database(f"sqlite+aiosqlite:///{path}")
        dump = dump_sqlite_schema(path)
    SQLITE_SNAPSHOT.write_text(SNAPSHOT_HEADER.format(revision=SCHEMA_REVISION) + dump)


if __name__ == "__main__":
    if sys.argv[1:] == ["--snapshot"]:
        write_snapshot()
    else:
        upgrade_database(os.environ[URL_VARIABLE])
