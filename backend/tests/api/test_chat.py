"""The chat flow: JSON and streamed answers, failures, stop/disconnect, regenerate, titles, limits."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select

from app.models import Message
from tests.conftest import Api, parse_sse


async def stored_messages(app: Any, conversation_id: int) -> list[Message]:
    async with app.state.context.sessionmaker() as session:
        rows = await session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
        )
        return list(rows)


async def test_chat_creates_a_conversation_and_saves_both_messages(api: Api, app: Any, alice: dict[str, str]) -> None:
    response = await api.client.post("/api/chat", headers=alice, json={"message": "Olá! Quem é você?"})
    assert response.status_code == 200
    body = response.json()
    assert body["user_message"]["content"] == "Olá! Quem é você?"
    assert body["assistant_message"]["role"] == "assistant"
    assert body["assistant_message"]["status"] == "complete"
    assert "Olá! Quem é você?" in body["assistant_message"]["content"]
    stored = await stored_messages(app, body["conversation_id"])
    assert [(m.role, m.status) for m in stored] == [("user", "complete"), ("assistant", "complete")]


async def test_chat_sends_the_history_with_the_system_prompt(api: Api, app: Any, alice: dict[str, str]) -> None:
    seen: list[list[Any]] = []
    model = app.state.context.llm.model
    original = type(model)._astream

    async def spy(self: Any, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
        seen.append(messages)
        async for chunk in original(self, messages, *args, **kwargs):
            yield chunk

    type(model)._astream = spy
    try:
        first = (await api.client.post("/api/chat", headers=alice, json={"message": "first question"})).json()
        await api.client.post(
            "/api/chat", headers=alice, json={"message": "second question", "conversation_id": first["conversation_id"]}
        )
    finally:
        type(model)._astream = original
    last_prompt = next(p for p in reversed(seen) if p[-1].content == "second question")
    assert last_prompt[0].type == "system"
    assert [m.type for m in last_prompt[1:]] == ["human", "ai", "human"]
    assert last_prompt[1].content == "first question"
    assert last_prompt[-1].content == "second question"


async def test_stream_sends_start_tokens_done_and_title(api: Api, app: Any, alice: dict[str, str]) -> None:
    response = await api.client.post(
        "/api/chat/stream", headers=alice, json={"message": "Como funciona a fotossíntese?"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache, no-transform"
    assert response.headers["x-accel-buffering"] == "no"
    events = parse_sse(response.text)
    names = [name for name, _ in events]
    assert names[0] == "start"
    assert names.count("token") > 5
    assert names[-2:] == ["done", "title"]
    start, done, title = events[0][1], events[-2][1], events[-1][1]
    streamed = "".join(data["text"] for name, data in events if name == "token")
    assert done["assistant_message"]["content"] == streamed
    reply = done["assistant_message"]
    # The fake model reports no counts: estimated from the text (~4 characters a token).
    assert (reply["model"], reply["tokens_estimated"]) == ("fake", True)
    assert reply["output_tokens"] == -(-len(streamed) // 4)
    assert reply["input_tokens"] > 0
    assert title == {"conversation_id": start["conversation_id"], "title": "Como funciona a fotossíntese?"}
    conversation = (await api.client.get(f"/api/conversations/{start['conversation_id']}", headers=alice)).json()
    assert conversation["title"] == "Como funciona a fotossíntese?"
    page = (await api.client.get(f"/api/conversations/{start['conversation_id']}/messages", headers=alice)).json()
    question, stored = page["items"]
    assert (question["model"], question["output_tokens"]) == (None, None)
    assert {key: stored[key] for key in ("model", "input_tokens", "output_tokens", "tokens_estimated")} == {
        key: reply[key] for key in ("model", "input_tokens", "output_tokens", "tokens_estimated")
    }


async def test_title_is_only_set_on_the_first_exchange_and_keeps_a_manual_name(api: Api, alice: dict[str, str]) -> None:
    first = (await api.client.post("/api/chat", headers=alice, json={"message": "primeira pergunta aqui"})).json()
    conversation_id = first["conversation_id"]
    for _ in range(50):  # the title is written in the background after the reply
        title = (await api.client.get(f"/api/conversations/{conversation_id}", headers=alice)).json()["title"]
        if title != "New chat":
            break
        await asyncio.sleep(0.02)
    assert title == "primeira pergunta aqui"
    await api.client.patch(f"/api/conversations/{conversation_id}", headers=alice, json={"title": "Meu nome"})
    await api.client.post("/api/chat", headers=alice, json={"message": "outra", "conversation_id": conversation_id})
    await asyncio.sleep(0.1)
    assert (await api.client.get(f"/api/conversations/{conversation_id}", headers=alice)).json()["title"] == "Meu nome"


async def test_model_failure_keeps_the_users_message(api: Api, app: Any, alice: dict[str, str]) -> None:
    response = await api.client.post("/api/chat", headers=alice, json={"message": "please [[fail]]"})
    assert response.status_code == 502
    assert "try again" in response.json()["detail"]
    conversations = (await api.client.get("/api/conversations", headers=alice)).json()["items"]
    stored = await stored_messages(app, conversations[0]["id"])
    assert [(m.role, m.content) for m in stored] == [("user", "please [[fail]]")]


async def test_stream_failure_before_tokens_is_an_error_event(api: Api, app: Any, alice: dict[str, str]) -> None:
    response = await api.client.post("/api/chat/stream", headers=alice, json={"message": "[[fail]] now"})
    events = parse_sse(response.text)
    assert [name for name, _ in events] == ["start", "error"]
    error = events[-1][1]
    assert error["code"] == "model_error"
    assert error["assistant_message"] is None
    stored = await stored_messages(app, events[0][1]["conversation_id"])
    assert [m.role for m in stored] == ["user"]


async def test_stream_failure_midway_saves_the_partial_reply(api: Api, app: Any, alice: dict[str, str]) -> None:
    response = await api.client.post("/api/chat/stream", headers=alice, json={"message": "[[fail-mid]] go"})
    events = parse_sse(response.text)
    names = [name for name, _ in events]
    assert names[0] == "start"
    assert names[-1] == "error"
    assert names.count("token") == 5
    partial = events[-1][1]["assistant_message"]
    assert partial["status"] == "incomplete"
    assert partial["content"] == "".join(data["text"] for name, data in events if name == "token")
    stored = await stored_messages(app, events[0][1]["conversation_id"])
    assert [(m.role, m.status) for m in stored] == [("user", "complete"), ("assistant", "incomplete")]


async def test_regenerate_keeps_the_previous_reply_as_a_sibling(api: Api, app: Any, alice: dict[str, str]) -> None:
    first = (await api.client.post("/api/chat", headers=alice, json={"message": "question"})).json()
    conversation_id = first["conversation_id"]
    response = await api.client.post(f"/api/conversations/{conversation_id}/regenerate", headers=alice, json={})
    events = parse_sse(response.text)
    assert events[0][1]["user_message"]["id"] == first["user_message"]["id"]
    assert events[-1][0] in ("done", "title")
    done = next(data for name, data in events if name == "done")["assistant_message"]
    old_id = first["assistant_message"]["id"]
    assert done["parent_id"] == first["user_message"]["id"]
    assert done["siblings"] == {"ids": [old_id, done["id"]], "index": 1}
    stored = await stored_messages(app, conversation_id)
    assert [m.role for m in stored] == ["user", "assistant", "assistant"]  # nothing was deleted
    page = (await api.client.get(f"/api/conversations/{conversation_id}/messages", headers=alice)).json()["items"]
    assert [m["id"] for m in page] == [first["user_message"]["id"], done["id"]]  # the new reply is active


async def test_edit_the_last_message_and_regenerate(api: Api, app: Any, alice: dict[str, str]) -> None:
    first = (await api.client.post("/api/chat", headers=alice, json={"message": "original text"})).json()
    conversation_id = first["conversation_id"]
    response = await api.client.post(
        f"/api/conversations/{conversation_id}/regenerate", headers=alice, json={"message": "edited text"}
    )
    events = parse_sse(response.text)
    start = events[0][1]["user_message"]
    assert start["siblings"] == {"ids": [first["user_message"]["id"], start["id"]], "index": 1}
    done = next(data for name, data in events if name == "done")
    assert "edited text" in done["assistant_message"]["content"]
    stored = await stored_messages(app, conversation_id)
    assert [(m.role, m.content.split("\n")[0]) for m in stored] == [
        ("user", "original text"),
        ("assistant", "You said: original text"),
        ("user", "edited text"),
        ("assistant", "You said: edited text"),
    ]
    page = (await api.client.get(f"/api/conversations/{conversation_id}/messages", headers=alice)).json()["items"]
    assert [m["content"].split("\n")[0] for m in page] == ["edited text", "You said: edited text"]


async def test_regenerate_after_a_failure_answers_the_kept_message(api: Api, app: Any, alice: dict[str, str]) -> None:
    await api.client.post("/api/chat", headers=alice, json={"message": "[[fail]] at first"})
    conversation_id = (await api.client.get("/api/conversations", headers=alice)).json()["items"][0]["id"]
    response = await api.client.post(
        f"/api/conversations/{conversation_id}/regenerate", headers=alice, json={"message": "works now"}
    )
    assert [name for name, _ in parse_sse(response.text)][-1] in ("done", "title")
    stored = await stored_messages(app, conversation_id)
    # The failed question stays, as the edited one's sibling; the reply answers the edit.
    assert [(m.role, m.parent_id) for m in stored] == [("user", None), ("user", None), ("assistant", stored[1].id)]


async def test_regenerate_an_empty_conversation_is_a_conflict(api: Api, alice: dict[str, str]) -> None:
    conversation = (await api.client.post("/api/conversations", headers=alice, json={})).json()
    response = await api.client.post(f"/api/conversations/{conversation['id']}/regenerate", headers=alice)
    assert response.status_code == 409


async def test_message_limits(api: Api, app: Any, alice: dict[str, str]) -> None:
    limit = app.state.context.settings.max_message_chars
    too_long = await api.client.post("/api/chat", headers=alice, json={"message": "a" * (limit + 1)})
    assert too_long.status_code == 413
    assert str(limit) in too_long.json()["detail"]
    assert (await api.client.post("/api/chat", headers=alice, json={"message": ""})).status_code == 422
    assert (await api.client.post("/api/chat", headers=alice, json={"message": "   "})).status_code == 422
    assert (await api.client.post("/api/chat", headers=alice, json={"message": 12})).status_code == 422
    assert (await api.client.post("/api/chat", headers=alice, json={"message": "hi", "extra": 1})).status_code == 422
    huge = await api.client.post(
        "/api/chat",
        headers={**alice, "content-type": "application/json"},
        content=b'{"message": "' + b"a" * 400_000 + b'"}',
    )
    assert huge.status_code == 413
    assert "too large" in huge.json()["detail"]
    assert (await api.client.get("/api/conversations", headers=alice)).json()["total"] == 0


async def test_chat_rate_limit_per_user(app_factory: Any, make_settings: Any) -> None:
    app = await app_factory(make_settings(chat_rate_limit="2/hour"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        api = Api(client, app)
        ana, bia = await api.user("ana@example.com"), await api.user("bia@example.com")
        statuses = [(await client.post("/api/chat", headers=ana, json={"message": "hi"})).status_code for _ in range(3)]
        limited = await client.post("/api/chat/stream", headers=ana, json={"message": "hi"})
        other = await client.post("/api/chat", headers=bia, json={"message": "hi"})
    assert statuses == [200, 200, 429]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert other.status_code == 200


async def test_daily_quota(app_factory: Any, make_settings: Any) -> None:
    app = await app_factory(make_settings(user_daily_messages=1))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        ana = await Api(client, app).user("ana@example.com")
        assert (await client.post("/api/chat", headers=ana, json={"message": "hi"})).status_code == 200
        second = await client.post("/api/chat", headers=ana, json={"message": "again"})
    assert second.status_code == 429
    assert second.json()["code"] == "daily_quota"
    assert "daily limit of 1" in second.json()["detail"]


async def test_heartbeat_comment_while_the_model_is_quiet(app_factory: Any, make_settings: Any) -> None:
    app = await app_factory(make_settings(fake_llm_delay_ms=40, sse_heartbeat_s=0.01))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        ana = await Api(client, app).user("ana@example.com")
        response = await client.post("/api/chat/stream", headers=ana, json={"message": "hi"})
    assert ": ping\n\n" in response.text
    assert [name for name, _ in parse_sse(response.text)][-1] in ("done", "title")


async def test_client_disconnect_no_longer_stops_the_reply(live_server: Any) -> None:
    """The reply is a job of the server: closing the connection (a reload, a lost network) lets it finish."""
    server = live_server(fake_llm_delay_ms=20)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        api = Api(client, server.app)
        ana = await api.user("ana@example.com")
        tokens = 0
        async with client.stream(
            "POST", "/api/chat/stream", headers=ana, json={"message": "long answer please"}
        ) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("event: token"):
                    tokens += 1
                    if tokens == 3:
                        break  # the tab closes: the connection goes away
        conversation_id = (await client.get("/api/conversations", headers=ana)).json()["items"][0]["id"]
        for _ in range(200):
            messages = (await client.get(f"/api/conversations/{conversation_id}/messages", headers=ana)).json()["items"]
            if len(messages) == 2:
                break
            await asyncio.sleep(0.05)
        whole = (await client.post("/api/chat", headers=ana, json={"message": "long answer please"})).json()
    assert [m["role"] for m in messages] == ["user", "assistant"]
    reply = messages[1]
    assert reply["status"] == "complete"
    assert reply["content"] == whole["assistant_message"]["content"]  # the whole reply, not the first tokens


async def test_a_busy_model_is_refused_before_anything_is_stored(api: Api, app: Any, alice: dict[str, str]) -> None:
    from app.llm import LLMBusy

    def full() -> None:
        raise LLMBusy()

    app.state.context.llm.ensure_capacity = full
    for url in ("/api/chat", "/api/chat/stream"):
        response = await api.client.post(url, headers=alice, json={"message": "hi"})
        assert response.status_code == 503
        assert response.json()["code"] == "model_busy"
        assert "busy" in response.json()["detail"]
        assert response.headers["retry-after"] == "5"
    assert (await api.client.get("/api/conversations", headers=alice)).json()["total"] == 0
