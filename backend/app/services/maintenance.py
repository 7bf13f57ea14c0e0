"""Database upkeep, run daily (`python -m app.cli maintenance`, docs/OPERATIONS.md has the cron line).

SQLite: ANALYZE + `PRAGMA optimize` (the planner's statistics), FTS5 'optimize' (merges the
search index's segments into one), and `PRAGMA incremental_vacuum` (gives the pages freed by
deletes back to the file system). `auto_vacuum=INCREMENTAL` is set on every new database
(alembic/env.py); a database created before that has it off, and the mode only takes effect
after one full VACUUM (`--vacuum`: rewrites the file, needs its size in free disk, blocks writers
while it runs — stop the app or run it at a quiet hour). PostgreSQL: ANALYZE (autovacuum does the rest).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

INCREMENTAL = 2  # PRAGMA auto_vacuum values: 0 none, 1 full, 2 incremental
FTS_TABLES = ("messages_fts", "conversations_fts")


@dataclass
class MaintenanceReport:
    steps: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


async def run_maintenance(engine: AsyncEngine, *, vacuum: bool = False) -> MaintenanceReport:
    report = MaintenanceReport()

    async def step(label: str, *statements: str) -> None:
        started = time.perf_counter()
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
            await connection.commit()
        report.steps.append(f"{label} ({time.perf_counter() - started:.1f} s)")

    if engine.dialect.name != "sqlite":
        await step("ANALYZE", "ANALYZE")
        return report
    async with engine.connect() as connection:
        mode = (await connection.execute(text("PRAGMA auto_vacuum"))).scalar()
    if vacuum and mode != INCREMENTAL:
        await step("VACUUM into auto_vacuum=incremental", "PRAGMA auto_vacuum = INCREMENTAL")
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            await raw.driver_connection.execute("VACUUM")  # type: ignore[union-attr]
        mode = INCREMENTAL
    await step("ANALYZE", "ANALYZE", "PRAGMA optimize")
    await step(
        "search index optimize",
        *(f"INSERT INTO {table}({table}) VALUES ('optimize')" for table in FTS_TABLES),  # noqa: S608 - constants
    )
    if mode == INCREMENTAL:
        await step("incremental_vacuum", "PRAGMA incremental_vacuum")
    else:
        report.notes.append(
            "auto_vacuum is off in this database (created before it was set): space freed by deletes is "
            "reused but never returned to the disk. Run `python -m app.cli maintenance --vacuum` once, at a "
            "quiet hour (it rewrites the file and needs as much free disk as its size)."
        )
    return report
