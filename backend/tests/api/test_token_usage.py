"""Token accounting: every reply's and title's tokens land in the per-day counter, the usage route
reports them, and the daily and monthly token quotas refuse a turn at the right count."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, insert, select

from app.models import Conversation, Message, UsageDay, User, utcnow
from app.services import usage
from app.services.errors import TokenQuotaExceeded
from app.services.quotas import Quotas, check_quotas
from tests.conftest import Api, parse_sse
from tests.fakes.gemini_server import FakeGeminiServer, _count_tokens


async def usage_row(app: Any, email: str) -> UsageDay:
    async with app.state.context.sessionmaker() as session:
        user_id = await session.scalar(select(User.id).where(User.email == email))
        row = await session.get(UsageDay, (user_id, usage.today()))
        assert row is not None
        return row


async def replies_of(app: Any) -> list[Message]:
    async with app.state.context.sessionmaker() as session:
        return list(await session.scalars(select(Message).where(Message.role == "assistant").order_by(Message.id)))


@pytest.fixture
async def client_for(app_factory: Any, make_settings: Any) -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    async def start(**overrides: Any) -> Api:
        app = await app_factory(make_settings(**overrides))
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=30)
        clients.append(client)
        return Api(client, app)

    yield start
    for client in clients:
        await client.aclose()


async def test_reply_and_title_tokens_are_counted_and_reported(api: Api, app: Any, alice: dict[str, str]) -> None:
    events = parse_sse((await api.client.post("/api/chat/stream", headers=alice, json={"message": "Olá!"})).text)
    assert [name for name, _ in events][-2:] == ["done", "title"]
    reply = next(data for name, data in events if name == "done")["assistant_message"]
    row = await usage_row(app, "alice@example.com")
    assert (row.messages, row.input_tokens, row.output_tokens) == (1, reply["input_tokens"], reply["output_tokens"])
    assert row.title_input_tokens > 0  # the fake model's title, estimated like its replies
    assert row.title_output_tokens == -(-len("Olá!") // 4)
    report = (await api.client.get("/api/usage", headers=alice)).json()
    total = row.input_tokens + row.output_tokens + row.title_input_tokens + row.title_output_tokens
    assert (report["tokens_today"], report["tokens_this_month"]) == (total, total)
    assert (report["daily_token_limit"], report["monthly_token_limit"]) == (None, None)
    assert report["month_resets_at"].endswith("-01T00:00:00Z")


async def test_a_second_turn_adds_to_the_same_day(api: Api, app: Any, alice: dict[str, str]) -> None:
    first = (await api.client.post("/api/chat", headers=alice, json={"message": "one"})).json()
    conversation_id = first["conversation_id"]
    await api.client.post("/api/chat", headers=alice, json={"message": "two", "conversation_id": conversation_id})
    replies = await replies_of(app)
    row = await usage_row(app, "alice@example.com")
    assert row.messages == 2
    assert row.input_tokens == sum(reply.input_tokens or 0 for reply in replies)
    assert row.output_tokens == sum(reply.output_tokens or 0 for reply in replies)


async def test_gemini_usage_metadata_is_what_is_stored_and_reported(client_for: Any) -> None:
    with FakeGeminiServer() as gemini:
        api = await client_for(
            llm_provider="gemini", google_api_key="test-key", gemini_base_url=gemini.url, llm_max_retries=1
        )
        alice = await api.user("alice@example.com")
        gemini.script(reply="Fotossíntese transforma luz em açúcar.", n_chunks=3)
        gemini.script(reply="Fotossíntese")  # the title
        events = parse_sse(
            (await api.client.post("/api/chat/stream", headers=alice, json={"message": "O que é fotossíntese?"})).text
        )
        reply_request, title_request = gemini.generate_requests()
        assert not title_request.stream
        reply = next(data for name, data in events if name == "done")["assistant_message"]
        # What the fake server put in usageMetadata (prompt: the contents and system instruction).
        prompt_tokens = FakeGeminiServer._prompt_tokens(reply_request.body)
        assert (reply["input_tokens"], reply["output_tokens"], reply["tokens_estimated"]) == (
            prompt_tokens,
            _count_tokens("Fotossíntese transforma luz em açúcar."),
            False,
        )
        row = await usage_row(api.app, "alice@example.com")
        assert (row.input_tokens, row.output_tokens) == (reply["input_tokens"], reply["output_tokens"])
        assert (row.title_input_tokens, row.title_output_tokens) == (
            FakeGeminiServer._prompt_tokens(title_request.body),
            _count_tokens("Fotossíntese"),
        )
        report = (await api.client.get("/api/usage", headers=alice)).json()
        assert report["tokens_today"] == (
            row.input_tokens + row.output_tokens + row.title_input_tokens + row.title_output_tokens
        )


async def test_api_completions_count_their_tokens(api: Api, app: Any, alice: dict[str, str]) -> None:
    response = await api.client.post(
        "/v1/chat/completions", headers=alice, json={"model": "fake", "messages": [{"role": "user", "content": "hi"}]}
    )
    assert response.status_code == 200, response.text
    counted = response.json()["usage"]
    row = await usage_row(app, "alice@example.com")
    assert (row.messages, row.input_tokens, row.output_tokens) == (
        1,
        counted["prompt_tokens"],
        counted["completion_tokens"],
    )


async def seed(api: Api, email: str, **counts: int) -> None:
    async with api.app.state.context.sessionmaker() as session:
        user_id = await session.scalar(select(User.id).where(User.email == email))
        day = counts.pop("day_offset", 0)
        await session.execute(
            insert(UsageDay).values(user_id=user_id, day=usage.today() - timedelta(days=day), **counts)
        )
        await session.commit()


async def test_daily_token_quota_refuses_at_the_limit_with_a_clear_429(client_for: Any) -> None:
    api = await client_for(user_daily_tokens=1000)
    alice = await api.user("alice@example.com")
    await seed(api, "alice@example.com", input_tokens=600, output_tokens=300, title_input_tokens=90, day_offset=0)
    # 999 used: one more turn is allowed, and it goes past the limit.
    allowed = await api.client.post("/api/chat", headers=alice, json={"message": "hi"})
    assert allowed.status_code == 200, allowed.text
    await asyncio.wait(api.app.state.context.chat.background)  # its title's tokens count too
    refused = await api.client.post("/api/chat/stream", headers=alice, json={"message": "one more"})
    assert refused.status_code == 429
    body = refused.json()
    assert body["code"] == "token_quota"
    used = (await api.client.get("/api/usage", headers=alice)).json()["tokens_today"]
    assert used > 1000
    assert f"You used {used:,} of your 1,000 tokens for today" in body["detail"]
    assert "00:00 UTC" in body["detail"]
    assert 0 < int(refused.headers["retry-after"]) <= 86_400
    # A refused turn stores nothing and counts nothing.
    assert (await usage_row(api.app, "alice@example.com")).messages == 1


async def test_monthly_token_quota_counts_this_month_only(client_for: Any) -> None:
    api = await client_for(user_monthly_tokens=500, user_daily_tokens=0)
    alice = await api.user("alice@example.com")
    first_of_month = usage.today().day - 1
    await seed(api, "alice@example.com", input_tokens=10_000, day_offset=first_of_month + 1)  # last month
    await seed(api, "alice@example.com", output_tokens=499, day_offset=first_of_month)  # this month's first day
    assert (await api.client.post("/api/chat", headers=alice, json={"message": "hi"})).status_code == 200
    refused = await api.client.post("/api/chat", headers=alice, json={"message": "again"})
    assert refused.status_code == 429
    assert refused.json()["code"] == "token_quota"
    assert "for this month" in refused.json()["detail"]
    report = (await api.client.get("/api/usage", headers=alice)).json()
    assert report["monthly_token_limit"] == 500
    assert report["tokens_this_month"] > 500
    assert int(refused.headers["retry-after"]) <= 31 * 86_400


async def test_quota_check_reads_only_the_counters_at_100000_messages(api: Api, app: Any) -> None:
    await api.register("heavy@example.com")
    sessionmaker = app.state.context.sessionmaker
    async with sessionmaker() as session:
        user_id = await session.scalar(select(User.id).where(User.email == "heavy@example.com"))
        conversation = Conversation(user_id=user_id)
        session.add(conversation)
        await session.flush()
        now = utcnow()
        for start in range(0, 100_000, 10_000):
            await session.execute(
                insert(Message),
                [
                    {
                        "conversation_id": conversation.id,
                        "role": "user" if i % 2 == 0 else "assistant",
                        "content": "x",
                        "status": "complete",
                        "created_at": now,
                        "input_tokens": 10,
                        "output_tokens": 10,
                    }
                    for i in range(start, start + 10_000)
                ],
            )
        # Two years of days: the check reads this month's rows only.
        await session.execute(
            insert(UsageDay),
            [
                {"user_id": user_id, "day": usage.today() - timedelta(days=d), "messages": 137, "input_tokens": 1}
                for d in range(730)
            ],
        )
        await session.commit()
    quotas = Quotas(daily_messages=1_000_000, daily_tokens=1_000_000, monthly_tokens=1_000_000)
    # What it reads, not how long it takes (timings belong in bench/scale.py's quota row): one
    # statement, on the counters only, never on the 100,000 messages.
    statements: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement.lower())

    engine = app.state.context.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        async with sessionmaker() as session:
            await check_quotas(session, user_id, quotas)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    reads = [statement for statement in statements if statement.lstrip().startswith(("select", "with"))]
    assert len(reads) == 1, statements
    assert "usage_days" in reads[0], reads[0]
    assert "from messages" not in reads[0], reads[0]
    assert "join messages" not in reads[0], reads[0]
    async with sessionmaker() as session:
        with pytest.raises(TokenQuotaExceeded):
            await check_quotas(session, user_id, Quotas(daily_tokens=1))
