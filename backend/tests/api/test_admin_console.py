"""The admin console's API: every call refused to non-admins, users searched, promoted and deleted
with their data, the usage report (JSON and CSV, with costs), and settings changed at run time."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.models import Conversation, Message, UsageDay, User
from app.services import usage
from app.services.runtime_settings import RuntimeSettings
from tests.conftest import PASSWORD, Api


async def user_id(api: Api, admin: dict[str, str], email: str) -> int:
    users = (await api.client.get("/api/admin/users", headers=admin, params={"q": email})).json()
    return int(next(user["id"] for user in users if user["email"] == email))


async def test_every_admin_call_is_403_for_others(api: Api, alice: dict[str, str], bob: dict[str, str]) -> None:
    paths = {path: item for path, item in api.app.openapi()["paths"].items() if path.startswith("/api/admin")}
    assert sum(len(item) for item in paths.values()) >= 10
    for template, item in paths.items():
        path = re.sub(r"\{[^}]+\}", "1", template)
        for method in item:
            response = await api.client.request(method, path, headers=bob, json={})
            assert response.status_code == 403, (method, path, response.text)
            assert (await api.client.request(method, path)).status_code == 401


async def test_search_promote_and_the_admins_own_account(api: Api, alice: dict[str, str], bob: dict[str, str]) -> None:
    found = (await api.client.get("/api/admin/users", headers=alice, params={"q": "BOB@"})).json()
    assert [user["email"] for user in found] == ["bob@example.com"]
    assert (await api.client.get("/api/admin/users", headers=alice, params={"q": "%"})).json() == []
    # A NUL byte cannot be in an email (PostgreSQL refuses it in text): a clear 422, not a 500.
    assert (await api.client.get("/api/admin/users", headers=alice, params={"q": "a\x00b"})).status_code == 422
    bob_id = found[0]["id"]
    promoted = await api.client.patch(f"/api/admin/users/{bob_id}", headers=alice, json={"is_admin": True})
    assert promoted.json()["is_admin"] is True
    assert (await api.client.get("/api/admin/users", headers=bob)).status_code == 200
    demoted = await api.client.patch(f"/api/admin/users/{bob_id}", headers=alice, json={"is_admin": False})
    assert demoted.json()["is_admin"] is False
    assert (await api.client.get("/api/admin/users", headers=bob)).status_code == 403
    alice_id = await user_id(api, alice, "alice@example.com")
    for response in (
        await api.client.patch(f"/api/admin/users/{alice_id}", headers=alice, json={"is_admin": False}),
        await api.client.delete(f"/api/admin/users/{alice_id}", headers=alice),
    ):
        assert response.status_code == 409
    assert (await api.client.patch(f"/api/admin/users/{bob_id}", headers=alice, json={"admin": 1})).status_code == 422
    assert (await api.client.delete("/api/admin/users/999999", headers=alice)).status_code == 404


async def test_deleting_a_user_removes_all_their_data(
    api: Api, app: Any, settings: Any, alice: dict[str, str], bob: dict[str, str]
) -> None:
    uploaded = await api.client.post(
        "/api/uploads", headers=bob, files={"file": ("notes.txt", b"some notes", "text/plain")}
    )
    assert uploaded.status_code == 201, uploaded.text
    chat = await api.client.post(
        "/api/chat", headers=bob, json={"message": "look", "attachment_ids": [uploaded.json()["id"]]}
    )
    assert chat.status_code == 200, chat.text
    await api.client.post("/api/chat", headers=alice, json={"message": "mine"})
    stored = [path for path in (settings.data_dir / "uploads").rglob("*") if path.is_file()]
    assert stored
    bob_id = await user_id(api, alice, "bob@example.com")
    assert (await api.client.delete(f"/api/admin/users/{bob_id}", headers=alice)).status_code == 204
    assert (await api.client.get("/api/auth/me", headers=bob)).status_code == 401
    assert not [path for path in stored if path.exists()]
    async with app.state.context.sessionmaker() as session:
        assert await session.get(User, bob_id) is None
        assert await session.scalar(select(func.count()).where(Conversation.user_id == bob_id)) == 0
        assert await session.scalar(select(func.count()).where(UsageDay.user_id == bob_id)) == 0
        assert await session.scalar(select(func.count()).select_from(Message)) == 2  # alice's question and reply
    assert (
        await api.client.post("/api/auth/login", json={"email": "bob@example.com", "password": PASSWORD})
    ).status_code == 401


@pytest.fixture
async def priced(app_factory: Any, make_settings: Any) -> AsyncIterator[Api]:
    app = await app_factory(make_settings(model_prices="fake=1000000/2000000, other=1/1"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield Api(client, app)


async def test_usage_report_by_day_user_and_model_with_costs(priced: Api) -> None:
    api = priced
    alice, bob = await api.user("alice@example.com"), await api.user("bob@example.com")
    for headers in (alice, bob, bob):
        await api.client.post("/api/conversations", headers=headers, json={"title": "named"})  # no title call
    conversations = (await api.client.get("/api/conversations", headers=bob)).json()["items"]
    for text in ("one", "two"):
        await api.client.post(
            "/api/chat", headers=bob, json={"message": text, "conversation_id": conversations[0]["id"]}
        )
    await api.client.post("/api/chat", headers=alice, json={"message": "three"})
    import asyncio

    await asyncio.wait(api.app.state.context.chat.background)  # alice's title
    async with api.app.state.context.sessionmaker() as session:
        replies = list(await session.scalars(select(Message).where(Message.role == "assistant")))
        rows = list(await session.scalars(select(UsageDay)))
    reply_in = sum(reply.input_tokens or 0 for reply in replies)
    reply_out = sum(reply.output_tokens or 0 for reply in replies)
    title_in = sum(row.title_input_tokens for row in rows)
    title_out = sum(row.title_output_tokens for row in rows)
    assert title_in > 0
    # fake: $1 an input token, $2 an output token (titles are priced as the configured model, fake).
    expected_cost = reply_in + 2 * reply_out + title_in + 2 * title_out

    by_day = (await api.client.get("/api/admin/usage", headers=alice)).json()
    assert by_day["group"] == "day"
    assert (by_day["end"], by_day["start"]) == (str(usage.today()), str(usage.today() - timedelta(days=29)))
    [today] = by_day["rows"]
    assert today["key"] == str(usage.today())
    assert (today["messages"], today["input_tokens"], today["output_tokens"]) == (3, reply_in, reply_out)
    assert (today["title_input_tokens"], today["title_output_tokens"]) == (title_in, title_out)
    assert today["cost_usd"] == pytest.approx(expected_cost)
    assert by_day["total"]["cost_usd"] == pytest.approx(expected_cost)

    by_user = (await api.client.get("/api/admin/usage", headers=alice, params={"group": "user"})).json()
    assert [(row["key"], row["messages"]) for row in by_user["rows"]] == [
        ("alice@example.com", 1),
        ("bob@example.com", 2),
    ]
    assert sum(row["cost_usd"] for row in by_user["rows"]) == pytest.approx(expected_cost)

    by_model = (await api.client.get("/api/admin/usage", headers=alice, params={"group": "model"})).json()
    assert [(row["key"], row["messages"]) for row in by_model["rows"]] == [("(titles)", 0), ("fake", 3)]
    assert by_model["rows"][1]["input_tokens"] == reply_in
    assert by_model["total"]["cost_usd"] == pytest.approx(expected_cost)

    csv_text = await api.client.get(
        "/api/admin/usage", headers={**alice, "Accept": "text/csv"}, params={"group": "user"}
    )
    assert csv_text.headers["content-type"].startswith("text/csv")
    lines = csv_text.text.splitlines()
    assert (
        lines[0] == "user,user_id,messages,input_tokens,output_tokens,title_input_tokens,title_output_tokens,cost_usd"
    )
    assert lines[1].startswith("alice@example.com,")
    assert lines[-1].startswith("total,,3,")
    explicit = await api.client.get("/api/admin/usage", headers=alice, params={"format": "csv"})
    assert explicit.text.splitlines()[1].startswith(f"{usage.today()},,3,")

    yesterday = str(usage.today() - timedelta(days=1))
    empty = (await api.client.get("/api/admin/usage", headers=alice, params={"to": yesterday})).json()
    assert (empty["rows"], empty["total"]["messages"], empty["total"]["cost_usd"]) == ([], 0, None)
    for params in ({"from": str(usage.today()), "to": yesterday}, {"from": "2020-01-01"}, {"group": "week"}):
        assert (await api.client.get("/api/admin/usage", headers=alice, params=params)).status_code == 422


def test_bad_model_prices_are_a_clear_error(make_settings: Any) -> None:
    with pytest.raises(ValueError, match="model=input/output"):
        make_settings(model_prices="gemini=cheap")
    assert make_settings(model_prices="a=0.30/2.50").model_prices == {"a": (0.3, 2.5)}


async def test_runtime_settings_override_the_environment_and_are_audited(
    api: Api, alice: dict[str, str], bob: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    shown = (await api.client.get("/api/admin/settings", headers=alice)).json()
    assert shown == {
        "allow_signup": True,
        "user_daily_messages": 0,
        "user_daily_tokens": 0,
        "user_monthly_tokens": 0,
        "overridden": [],
        "environment": {
            "allow_signup": True,
            "user_daily_messages": 0,
            "user_daily_tokens": 0,
            "user_monthly_tokens": 0,
        },
    }
    with caplog.at_level(logging.INFO, logger="app.audit"):
        changed = await api.client.put(
            "/api/admin/settings", headers=alice, json={"allow_signup": False, "user_daily_messages": 1}
        )
    assert changed.status_code == 200
    assert changed.json()["overridden"] == ["allow_signup", "user_daily_messages"]
    audit = [record.getMessage() for record in caplog.records if record.name == "app.audit"]
    assert audit == [
        "runtime setting changed key=allow_signup from=True to=False by=alice@example.com source=database",
        "runtime setting changed key=user_daily_messages from=0 to=1 by=alice@example.com source=database",
    ]
    # In force at once on this instance: sign-up closed, the quota counts.
    closed = await api.client.post("/api/auth/register", json={"email": "carol@example.com", "password": PASSWORD})
    assert closed.status_code == 403
    assert (await api.client.get("/api/health")).json()["allow_signup"] is False
    assert (await api.client.post("/api/chat", headers=bob, json={"message": "one"})).status_code == 200
    refused = await api.client.post("/api/chat", headers=bob, json={"message": "two"})
    assert (refused.status_code, refused.json()["code"]) == (429, "daily_quota")
    assert (await api.client.get("/api/usage", headers=bob)).json()["daily_message_limit"] == 1
    # Another instance (its own cache) reads the database once its cache is stale.
    context = api.app.state.context
    other = RuntimeSettings(context.sessionmaker, context.settings, ttl_s=0)
    assert (await other.current()).allow_signup is False
    # null: back to the environment's value.
    back = await api.client.put("/api/admin/settings", headers=alice, json={"user_daily_messages": None})
    assert back.json()["overridden"] == ["allow_signup"]
    assert back.json()["user_daily_messages"] == 0
    assert (await api.client.post("/api/chat", headers=bob, json={"message": "two"})).status_code == 200
    for bad in ({"user_daily_tokens": -1}, {"user_daily_tokens": "5"}, {"unknown": 1}, {"allow_signup": "maybe"}):
        assert (await api.client.put("/api/admin/settings", headers=alice, json=bad)).status_code == 422


def test_cli_sets_admin_and_deletes_users(
    make_settings: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main

    settings = make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    assert main(["create-user", "root@example.com", "--password", "long-password", "--admin"], settings) == 0
    assert main(["create-user", "erin@example.com", "--password", "long-password"], settings) == 0
    assert main(["set-admin", "erin@example.com"], settings) == 0
    assert main(["list-users"], settings) == 0
    assert capsys.readouterr().out.splitlines()[-1].split()[2] == "True"  # the admin column
    assert main(["delete-user", "erin@example.com"], settings) == 1  # without --yes
    assert main(["delete-user", "erin@example.com", "--yes"], settings) == 0
    assert main(["delete-user", "ghost@example.com", "--yes"], settings) == 1
    assert main(["list-users"], settings) == 0
    listing = capsys.readouterr().out.split("created\n")[-1]
    assert "root@example.com" in listing
    assert "erin@example.com" not in listing


async def test_usage_dates_must_be_iso_days(api: Api, alice: dict[str, str]) -> None:
    for params in ({"to": "0"}, {"from": "1700000000"}, {"to": "2026-1-5"}, {"from": "2026-02-30"}):
        response = await api.client.get("/api/admin/usage", headers=alice, params=params)
        assert response.status_code == 422, params


async def test_a_stale_settings_cache_is_read_through_the_callers_session(app: Any, alice: dict[str, str]) -> None:
    """A burst of requests each holding a pooled connection must never need one more for the settings."""
    context = app.state.context
    runtime = RuntimeSettings(None, context.settings, ttl_s=0)  # no pool of its own at all
    async with context.sessionmaker() as session:
        await runtime.update(session, {"user_daily_tokens": 77}, "alice@example.com")
    other = RuntimeSettings(None, context.settings, ttl_s=0)
    async with context.sessionmaker() as session:
        assert (await other.current(session)).user_daily_tokens == 77
    assert (await other.current()).user_daily_tokens == 77  # no session, no pool: the last values read


async def test_the_usage_report_reads_its_range_through_indexes(priced: Api) -> None:
    from tests.api.test_query_plans import plans, recorded_sql

    api = priced
    alice = await api.user("alice@example.com")
    await api.client.post("/api/chat", headers=alice, json={"message": "hi"})
    for group in ("day", "user", "model"):
        with recorded_sql(api) as statements:
            response = await api.client.get("/api/admin/usage", headers=alice, params={"group": group})
            assert response.status_code == 200
        report = [(s, p) for s, p in statements if "usage_days" in s or "FROM messages" in s]
        assert report
        for statement, plan in await plans(api, report):
            for line in plan.splitlines():
                text = line.strip()
                whole = text.split(" ")[:2] in (["SCAN", "messages"], ["SCAN", "usage_days"])
                assert not whole, f"{group}: full scan\n{statement}\n{plan}"
                assert "Seq Scan on messages" not in text, f"{group}: full scan\n{statement}\n{plan}"
                assert "Seq Scan on usage_days" not in text, f"{group}: full scan\n{statement}\n{plan}"
