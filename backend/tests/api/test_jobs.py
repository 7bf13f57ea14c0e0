"""Replies as server jobs: following a reply from another connection, stopping it, the limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx

from tests.conftest import Api

QUESTION = "tell me something long"
T = TypeVar("T")


async def sse_events(response: httpx.Response) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """(event, data) pairs of a streamed text/event-stream response, as they arrive."""
    name = "message"
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            yield name, json.loads(line[6:])
            name = "message"


async def read_until_end(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    events = []
    async for name, data in sse_events(response):
        events.append((name, data))
        if name == "error":
            break
    return events


def followed_text(events: list[tuple[str, dict[str, Any]]]) -> str:
    """What a reader of GET .../stream has of the reply: the sync snapshot, then the tokens."""
    assert events[0][0] == "sync"
    return events[0][1]["text_so_far"] + "".join(d["text"] for n, d in events if n == "token")


async def start_reply(
    client: httpx.AsyncClient, headers: dict[str, str], tokens: int, message: str = QUESTION
) -> tuple[int, str]:
    """POST /api/chat/stream, read `tokens` tokens, then drop the connection (a reload)."""
    seen: list[str] = []
    conversation_id = 0
    async with client.stream("POST", "/api/chat/stream", headers=headers, json={"message": message}) as response:
        assert response.status_code == 200
        async for name, data in sse_events(response):
            if name == "start":
                conversation_id = data["conversation_id"]
            elif name == "token":
                seen.append(data["text"])
                if len(seen) == tokens:
                    break
    return conversation_id, "".join(seen)


async def poll(read: Callable[[], Awaitable[T | None]], tries: int, every_s: float, failure: str) -> T:
    """`read()` until it gives something, `tries` times `every_s` apart at most."""
    for _ in range(tries):
        found = await read()
        if found is not None:
            return found
        await asyncio.sleep(every_s)
    raise AssertionError(failure)


async def wait_for_reply(client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int) -> dict[str, Any]:
    async def reply() -> dict[str, Any] | None:
        items = (await client.get(f"/api/conversations/{conversation_id}/messages", headers=headers)).json()["items"]
        return dict(items[1]) if len(items) == 2 else None

    return await poll(reply, 300, 0.05, "the reply was never saved")


async def test_a_reader_that_reconnects_mid_reply_gets_the_whole_reply_once(live_server: Any) -> None:
    server = live_server(fake_llm_delay_ms=20)
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        ana = await Api(client, server.app).user("ana@example.com")
        conversation_id, first_tokens = await start_reply(client, ana, tokens=4)
        detail = (await client.get(f"/api/conversations/{conversation_id}", headers=ana)).json()
        listed = (await client.get("/api/conversations", headers=ana)).json()["items"][0]
        async with client.stream("GET", f"/api/conversations/{conversation_id}/stream", headers=ana) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = [event async for event in sse_events(response)]
        after = await client.get(f"/api/conversations/{conversation_id}/stream", headers=ana)
        detail_after = (await client.get(f"/api/conversations/{conversation_id}", headers=ana)).json()
    assert detail["generating"] is True
    assert listed["generating"] is True
    names = [name for name, _ in events]
    assert names[0] == "sync"
    assert names.count("sync") == 1
    assert "start" not in names
    assert names[-2:] == ["done", "title"]
    sync = events[0][1]
    assert sync["assistant_message_id"] is None  # the reply is stored when it ends
    assert sync["text_so_far"].startswith(first_tokens)  # what the first connection saw, and whatever came since
    done = dict(events)["done"]["assistant_message"]
    assert followed_text(events) == done["content"]  # no gap, no duplicate
    assert done["status"] == "complete"
    assert after.status_code == 204  # nothing generating once the reply is saved
    assert detail_after["generating"] is False


async def test_two_readers_and_the_first_connection_see_the_same_reply(live_server: Any) -> None:
    server = live_server(fake_llm_delay_ms=15)
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        ana = await Api(client, server.app).user("ana@example.com")
        async with client.stream("POST", "/api/chat/stream", headers=ana, json={"message": QUESTION}) as first:
            stream = sse_events(first)
            name, start = await anext(stream)
            assert name == "start"
            conversation_id = start["conversation_id"]
            url = f"/api/conversations/{conversation_id}/stream"

            async def follow(after_s: float) -> list[tuple[str, dict[str, Any]]]:
                await asyncio.sleep(after_s)
                async with client.stream("GET", url, headers=ana) as response:
                    assert response.status_code == 200
                    return await read_until_end(response)

            readers = asyncio.gather(follow(0.05), follow(0.2))
            own = [(name, data) async for name, data in stream]
            second, third = await readers
    done = dict(own)["done"]["assistant_message"]["content"]
    assert "".join(d["text"] for n, d in own if n == "token") == done
    assert followed_text(second) == done
    assert followed_text(third) == done
    assert second[0][1]["text_so_far"] != third[0][1]["text_so_far"]  # they joined at different points


async def test_stop_from_another_connection_saves_the_partial_reply(live_server: Any) -> None:
    server = live_server(fake_llm_delay_ms=30)
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        ana = await Api(client, server.app).user("ana@example.com")
        async with client.stream("POST", "/api/chat/stream", headers=ana, json={"message": QUESTION}) as first:
            stream = sse_events(first)
            conversation_id = (await anext(stream))[1]["conversation_id"]
            tokens = [await anext(stream) for _ in range(3)]
            assert all(name == "token" for name, _ in tokens)
            # Another tab (another connection) presses Stop.
            async with httpx.AsyncClient(base_url=server.url, timeout=20) as other:
                stopped = await other.post(f"/api/conversations/{conversation_id}/stop", headers=ana)
            rest = [event async for event in stream]
        again = await client.post(f"/api/conversations/{conversation_id}/stop", headers=ana)
        stored = await wait_for_reply(client, ana, conversation_id)
        follow = await client.get(f"/api/conversations/{conversation_id}/stream", headers=ana)
    assert stopped.status_code == 200
    assert stopped.json() == {"stopped": True}
    assert again.json() == {"stopped": False}
    name, error = rest[-1]
    assert name == "error"
    assert error["code"] == "stopped"
    reply = error["assistant_message"]
    assert reply["status"] == "incomplete"
    streamed = "".join(d["text"] for _, d in tokens) + "".join(d["text"] for n, d in rest if n == "token")
    assert reply["content"] == streamed
    assert stored["status"] == "incomplete"
    assert stored["content"] == streamed
    assert len(streamed.split()) < 30  # stopped well before the end of the fake model's ~60 words
    assert follow.status_code == 204


async def test_a_user_has_at_most_max_jobs_replies_at_once(live_server: Any) -> None:
    server = live_server(fake_llm_delay_ms=100, max_jobs_per_user=2)
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        api = Api(client, server.app)
        ana, bia = await api.user("ana@example.com"), await api.user("bia@example.com")
        first, _ = await start_reply(client, ana, tokens=1)
        await start_reply(client, ana, tokens=1)
        refused = await client.post("/api/chat/stream", headers=ana, json={"message": "a third"})
        others, _ = await start_reply(client, bia, tokens=1, message="bia has her own")
        # One reply at a time in a conversation: a second question there waits for the first reply.
        busy = await client.post("/api/chat/stream", headers=ana, json={"message": "more", "conversation_id": first})
        regenerate = await client.post(f"/api/conversations/{first}/regenerate", headers=ana)
        conversations = (await client.get("/api/conversations", headers=ana)).json()
        await client.post(f"/api/conversations/{first}/stop", headers=ana)
        after_stop, _ = await start_reply(client, ana, tokens=1, message="now there is room")
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_replies"
    assert refused.headers["retry-after"] == "5"
    assert others > 0
    assert busy.status_code == 409
    assert busy.json()["code"] == "reply_in_progress"
    assert regenerate.status_code == 409
    assert conversations["total"] == 2  # nothing was stored for the refused requests
    assert [item["generating"] for item in conversations["items"]] == [True, True]
    assert after_stop > first


async def test_following_another_users_conversation_is_not_found(live_server: Any) -> None:
    server = live_server(fake_llm_delay_ms=30)
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        api = Api(client, server.app)
        ana, bia = await api.user("ana@example.com"), await api.user("bia@example.com")
        conversation_id, _ = await start_reply(client, ana, tokens=1)
        follow = await client.get(f"/api/conversations/{conversation_id}/stream", headers=bia)
        stop = await client.post(f"/api/conversations/{conversation_id}/stop", headers=bia)
        # 404, not 409 `reply_in_progress`: nothing tells Bia that Ana's conversation exists.
        post = await client.post(
            "/api/chat/stream", headers=bia, json={"message": "hi", "conversation_id": conversation_id}
        )
        reply = await wait_for_reply(client, ana, conversation_id)
    assert follow.status_code == 404
    assert stop.status_code == 404
    assert post.status_code == 404
    assert reply["status"] == "complete"


async def test_a_conversation_with_nothing_generating_answers_204(api: Api, alice: dict[str, str]) -> None:
    conversation = (await api.client.post("/api/conversations", headers=alice, json={})).json()
    assert conversation["generating"] is False
    response = await api.client.get(f"/api/conversations/{conversation['id']}/stream", headers=alice)
    assert response.status_code == 204
    assert response.content == b""
    stop = await api.client.post(f"/api/conversations/{conversation['id']}/stop", headers=alice)
    assert stop.json() == {"stopped": False}


async def test_server_stopping_ends_the_jobs_and_saves_their_partial_replies(live_server: Any) -> None:
    server = live_server(fake_llm_delay_ms=30)
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        ana = await Api(client, server.app).user("ana@example.com")
        conversation_id, _ = await start_reply(client, ana, tokens=2)  # no reader left: the job runs alone
        context = server.app.state.context
        loop = next(iter(context.chat.background)).get_loop()
        loop.call_soon_threadsafe(context.chat.stopping.set)  # what SIGTERM does (app.core.shutdown)
        reply = await wait_for_reply(client, ana, conversation_id)
    assert reply["status"] == "incomplete"
    assert reply["content"].startswith("You said:")


async def wait_until_generating(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    async def generating() -> int | None:
        items = (await client.get("/api/conversations", headers=headers)).json()["items"]
        return int(items[0]["id"]) if items and items[0]["generating"] else None

    return await poll(generating, 200, 0.02, "no reply was ever generating")


async def test_a_whole_reply_asked_with_post_chat_is_a_job_too(live_server: Any) -> None:
    server = live_server(fake_llm_delay_ms=15)
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        ana = await Api(client, server.app).user("ana@example.com")
        asked = asyncio.create_task(client.post("/api/chat", headers=ana, json={"message": QUESTION}))
        conversation_id = await wait_until_generating(client, ana)  # another tab sees it being written
        async with client.stream("GET", f"/api/conversations/{conversation_id}/stream", headers=ana) as response:
            assert response.status_code == 200
            followed = await read_until_end(response)
        answer = await asked
        detail = (await client.get(f"/api/conversations/{conversation_id}", headers=ana)).json()
    assert answer.status_code == 200
    reply = answer.json()["assistant_message"]
    assert reply["status"] == "complete"
    assert followed_text(followed) == reply["content"]
    assert dict(followed)["done"]["assistant_message"]["id"] == reply["id"]
    assert detail["generating"] is False


async def test_a_whole_reply_can_be_stopped_from_another_connection(live_server: Any) -> None:
    server = live_server(fake_llm_delay_ms=30, max_jobs_per_user=1)
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        ana = await Api(client, server.app).user("ana@example.com")
        asked = asyncio.create_task(client.post("/api/chat", headers=ana, json={"message": QUESTION}))
        conversation_id = await wait_until_generating(client, ana)
        # It holds one of her job slots, as a streamed reply does.
        refused = await client.post("/api/chat", headers=ana, json={"message": "a second one"})
        # Another tab follows it until a word is written (a stop before any word saves no reply), then stops it.
        async with client.stream("GET", f"/api/conversations/{conversation_id}/stream", headers=ana) as response:
            async for name, data in sse_events(response):
                if (name == "sync" and data["text_so_far"]) or name == "token":
                    break
        stopped = await client.post(f"/api/conversations/{conversation_id}/stop", headers=ana)
        answer = await asked
        stored = await wait_for_reply(client, ana, conversation_id)
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_replies"
    assert stopped.json() == {"stopped": True}
    assert answer.status_code == 409
    assert answer.json()["code"] == "stopped"
    assert stored["status"] == "incomplete"
    assert 0 < len(stored["content"].split()) < 30
