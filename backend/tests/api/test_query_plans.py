"""The hot routes read only what they return: every statement they run is planned on an index.

Each route is called once while its SQL is recorded; then each statement is explained with the
same parameters (SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN with sequential scans
discouraged, since on a tiny test table a scan is always cheapest and would hide nothing).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tests.api.test_search import write_conversation
from tests.conftest import Api

TABLES = ("messages", "conversations", "users")


@contextmanager
def recorded_sql(api: Api) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []
    engine = api.app.state.context.engine.sync_engine

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def plans(api: Api, statements: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    """(statement, its plan as text) for each statement."""
    explained = []
    async with api.app.state.context.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if not sqlite:
            await connection.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in statements:
            prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            rows = (await connection.exec_driver_sql(prefix + statement, parameters)).all()
            plan = "\n".join(str(row[-1] if sqlite else row[0]) for row in rows)
            explained.append((statement, plan))
        await connection.rollback()
    return explained


def full_scans(plan: str) -> list[str]:
    """Lines of a plan that read a whole table (or a whole index of it)."""
    found = []
    for line in plan.splitlines():
        text = line.strip()
        for table in TABLES:
            if text.split(" ")[:2] == ["SCAN", table] or f"Seq Scan on {table} " in f"{text} ":
                found.append(text)
    return found


async def assert_indexed(api: Api, method: str, url: str, headers: dict[str, str], **kwargs: Any) -> list[str]:
    with recorded_sql(api) as statements:
        response = await api.client.request(method, url, headers=headers, **kwargs)
        assert response.status_code == 200, response.text
    assert statements, "the route ran no SELECT"
    explained = await plans(api, statements)
    for statement, plan in explained:
        assert not full_scans(plan), f"{url}: full scan\n{statement}\n{plan}"
    return [plan for _, plan in explained]


async def test_the_hot_routes_use_indexes(api: Api, alice: dict[str, str]) -> None:
    conversation_id, _ = await write_conversation(api, alice, "Planos", "um plano de viagem", "plano bom")
    await write_conversation(api, alice, "Outra", "nada a ver")
    base = f"/api/conversations/{conversation_id}"
    await assert_indexed(api, "GET", "/api/conversations?limit=50", alice)
    await assert_indexed(api, "GET", f"{base}/messages?limit=100", alice)
    await assert_indexed(api, "GET", f"{base}/messages?limit=100&before_id=999", alice)
    await assert_indexed(api, "GET", "/api/usage", alice)
    await assert_indexed(api, "GET", "/api/search?q=plano", alice)
    await assert_indexed(api, "GET", "/api/conversations?q=plan", alice)
    with recorded_sql(api) as statements:
        response = await api.client.get(f"{base}/export?format=json", headers=alice)
        assert response.status_code == 200
    # Rows with their text are read a page at a time; the tree's shape (ids only) is read once.
    export = [(s, p) for s, p in statements if "FROM messages" in s and "content" in s]
    assert export
    assert all("LIMIT" in s.upper() for s, _ in export)
    for statement, plan in await plans(api, export):
        assert not full_scans(plan), f"export: full scan\n{statement}\n{plan}"


async def test_the_sorted_lists_need_no_sort_step(api: Api, alice: dict[str, str]) -> None:
    """The sidebar comes out of its index in order (no temporary sort of all rows); a messages page is a
    walk up the active path bounded by the page size, so what it sorts is at most that page."""
    conversation_id, _ = await write_conversation(api, alice, "Ordem", "a", "b")
    for plan in await assert_indexed(api, "GET", "/api/conversations?limit=50", alice):
        assert "TEMP B-TREE" not in plan, plan
    plans_of_page = await assert_indexed(api, "GET", f"/api/conversations/{conversation_id}/messages?limit=100", alice)
    assert any("RECURSIVE STEP" in plan or "Recursive Union" in plan for plan in plans_of_page)


async def test_the_admin_user_list_is_paged(api: Api, alice: dict[str, str], bob: dict[str, str]) -> None:
    with recorded_sql(api) as statements:
        page = await api.client.get("/api/admin/users?limit=1&offset=1", headers=alice)
    assert page.status_code == 200
    assert [user["email"] for user in page.json()] == ["bob@example.com"]
    listing = [s for s, _ in statements if "FROM users" in s and "ORDER BY" in s]
    assert listing
    assert all("LIMIT" in s.upper() for s in listing)


async def test_a_full_scan_is_seen(api: Api) -> None:
    """The check above can fail: a filter on an unindexed column is reported."""
    ((_, plan),) = await plans(api, [("SELECT id FROM messages WHERE status = 'x'", ())])
    assert full_scans(plan), plan
