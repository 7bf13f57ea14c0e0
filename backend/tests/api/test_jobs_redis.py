"""Reply jobs shared through Redis: two instances of the app (same database, same Redis), a reply
started on one followed, stopped and bounded through the other; a killed instance's reply recovered."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from app.core.config import BACKEND_DIR
from tests.api.test_jobs import QUESTION, followed_text, sse_events, start_reply, wait_for_reply
from tests.conftest import Api, free_port

SECRET = "redis-jobs-test-" + "k" * 32  # both instances sign and check the same tokens


def two_instances(live_server: Any, url: str, prefix: str, **overrides: Any) -> tuple[Any, Any]:
    settings = {"redis_url": url, "redis_key_prefix": prefix, "secret_key": SECRET, **overrides}
    return live_server(**settings), live_server(**settings)


async def test_a_reply_started_on_one_instance_is_followed_through_the_other(
    live_server: Any,
    redis_url: str,
    redis_prefix: str,
) -> None:
    a, b = two_instances(live_server, redis_url, redis_prefix, fake_llm_delay_ms=25)
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=20) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=20) as on_b,
    ):
        ana = await Api(on_a, a.app).user("ana@example.com")
        async with on_a.stream("POST", "/api/chat/stream", headers=ana, json={"message": QUESTION}) as first:
            stream = sse_events(first)
            conversation_id = (await anext(stream))[1]["conversation_id"]
            for _ in range(5):
                await anext(stream)
            await asyncio.sleep(0.5)  # past a flush: the job is known in Redis
            detail = (await on_b.get(f"/api/conversations/{conversation_id}", headers=ana)).json()
            listed = (await on_b.get("/api/conversations", headers=ana)).json()["items"][0]
            async with on_b.stream("GET", f"/api/conversations/{conversation_id}/stream", headers=ana) as other:
                assert other.status_code == 200
                remote = [event async for event in sse_events(other)]
            own = [event async for event in stream]
        after = await on_b.get(f"/api/conversations/{conversation_id}/stream", headers=ana)
    assert detail["generating"] is True
    assert listed["generating"] is True
    done = dict(own)["done"]["assistant_message"]
    assert remote[0][0] == "sync"
    assert remote[0][1]["text_so_far"].startswith("You said:")
    assert followed_text(remote) == done["content"]  # sync + tokens through B == the reply A saved
    assert dict(remote)["done"]["assistant_message"] == done
    assert [name for name, _ in remote][-2:] == ["done", "title"]
    assert after.status_code == 204


async def test_stop_through_the_other_instance(
    live_server: Any,
    redis_url: str,
    redis_prefix: str,
) -> None:
    a, b = two_instances(live_server, redis_url, redis_prefix, fake_llm_delay_ms=40)
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=20) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=20) as on_b,
    ):
        ana = await Api(on_a, a.app).user("ana@example.com")
        async with on_a.stream("POST", "/api/chat/stream", headers=ana, json={"message": QUESTION}) as first:
            stream = sse_events(first)
            conversation_id = (await anext(stream))[1]["conversation_id"]
            await anext(stream)
            await asyncio.sleep(0.5)
            stopped = await on_b.post(f"/api/conversations/{conversation_id}/stop", headers=ana)
            rest = [event async for event in stream]
        stored = await wait_for_reply(on_b, ana, conversation_id)
    assert stopped.json() == {"stopped": True}
    name, error = rest[-1]
    assert name == "error"
    assert error["code"] == "stopped"
    assert error["assistant_message"]["status"] == "incomplete"
    assert stored == error["assistant_message"]
    assert len(stored["content"].split()) < 40


async def test_max_jobs_per_user_counts_every_instance(
    live_server: Any,
    redis_url: str,
    redis_prefix: str,
) -> None:
    a, b = two_instances(live_server, redis_url, redis_prefix, fake_llm_delay_ms=100, max_jobs_per_user=1)
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=20) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=20) as on_b,
    ):
        ana = await Api(on_a, a.app).user("ana@example.com")
        conversation_id, _ = await start_reply(on_a, ana, tokens=1)
        refused = await on_b.post("/api/chat/stream", headers=ana, json={"message": "another"})
        await asyncio.sleep(0.5)
        busy = await on_b.post(
            "/api/chat/stream", headers=ana, json={"message": "same place", "conversation_id": conversation_id}
        )
        await on_b.post(f"/api/conversations/{conversation_id}/stop", headers=ana)
        await asyncio.sleep(0.3)
        room, _ = await start_reply(on_b, ana, tokens=1, message="now there is room")
        await on_b.post(f"/api/conversations/{room}/stop", headers=ana)
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_replies"
    assert busy.status_code in (409, 429)  # either bound refuses it, before anything is stored
    assert room > conversation_id


async def test_a_killed_instance_s_reply_is_saved_incomplete_by_another(
    live_server: Any,
    make_settings: Any,
    redis_url: str,
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    b = live_server(redis_url=redis_url, redis_key_prefix=redis_prefix, secret_key=SECRET)
    settings = make_settings()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.sqlalchemy_url,
        "DATA_DIR": str(tmp_path / "a-data"),
        "SECRET_KEY": SECRET,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": redis_prefix,
        "LLM_PROVIDER": "fake",
        "FAKE_LLM_DELAY_MS": "100",
        "CHAT_RATE_LIMIT": "1000/minute",
        "LOG_LEVEL": "WARNING",
        "STATIC_DIR": str(tmp_path / "no-web-app"),
    }
    a = subprocess.Popen(  # noqa: ASYNC220 (one server process, started once)
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=BACKEND_DIR,
        env=env,
    )
    try:
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as on_a,
            httpx.AsyncClient(base_url=b.url, timeout=20) as on_b,
        ):
            deadline = time.monotonic() + 30
            while True:
                try:
                    if (await on_a.get("/api/health")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "instance A did not start"
                await asyncio.sleep(0.2)
            ana = await Api(on_b, b.app).user("ana@example.com")
            conversation_id, seen = await start_reply(on_a, ana, tokens=6)
            await asyncio.sleep(0.5)  # a flush: what A wrote so far is in Redis
            a.send_signal(signal.SIGKILL)
            a.wait(10)
            killed_at = time.monotonic()
            assert (await on_b.get(f"/api/conversations/{conversation_id}", headers=ana)).json()["generating"]
            reply = await wait_for_reply_within(on_b, ana, conversation_id, 60)
            recovered_in = time.monotonic() - killed_at
            detail = (await on_b.get(f"/api/conversations/{conversation_id}", headers=ana)).json()
            follow = await on_b.get(f"/api/conversations/{conversation_id}/stream", headers=ana)
    finally:
        if a.poll() is None:
            a.kill()
            a.wait(10)
    assert reply["status"] == "incomplete"
    assert reply["content"].startswith(seen)  # the text A had generated, from Redis
    assert recovered_in < 60
    assert detail["generating"] is False
    assert follow.status_code == 204


async def wait_for_reply_within(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int, seconds: float
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        items = (await client.get(f"/api/conversations/{conversation_id}/messages", headers=headers)).json()["items"]
        if len(items) == 2:
            return dict(items[1])
        await asyncio.sleep(0.25)
    raise AssertionError(f"no reply saved within {seconds} s")
