"""SSE framing: what the browser's EventSource parser and JSON.parse receive."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from app.api.sse import PING, EventStreamResponse, sse, token_event
from tests.conftest import Api


@pytest.mark.parametrize(
    "text", [" word", 'quote " and \\ backslash', "line\nbreak\r\n", "Olá, 世界 🚀", "</script>", ""]
)
def test_token_event_is_the_generic_event_with_the_text_encoded(text: str) -> None:
    event = token_event(text)
    assert event == sse("token", {"text": text})
    head, data = event.decode().removesuffix("\n\n").split("\n")
    assert head == "event: token"
    assert json.loads(data.removeprefix("data: ")) == {"text": text}  # one data line: newlines stay escaped


async def test_a_client_that_stops_reading_loses_the_stream_and_the_reply_is_still_saved(
    live_server: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    """A client that keeps the socket open but never reads must not hold the stream (and its task) forever;
    the reply is a job of the server and does not wait for it."""
    server = live_server(
        fake_llm_delay_ms=0, sse_send_timeout_s=0.5, max_message_chars=9_000_000, max_body_bytes=10_000_000
    )
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        headers = await Api(client, server.app).user("ana@example.com")
        # The fake model echoes the message: ~8 MB of events, more than every socket buffer on the way holds.
        message = " ".join(["x" * 999] * 8_000)
        body = json.dumps({"message": message}).encode()
        request = (
            f"POST /api/chat/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: {headers['Authorization']}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # set before connecting, so it sticks
        sock.connect(("127.0.0.1", server.port))
        try:
            await asyncio.to_thread(sock.sendall, request)  # then never read a byte
            saved = await poll_for_reply(client, headers)
        finally:
            sock.close()
    assert saved["status"] == "complete"
    assert message in saved["content"]
    # The response ends (its request is logged at its end) although the client never read nor left.
    logged = ""
    for _ in range(100):
        logged += capfd.readouterr().err
        if "POST /api/chat/stream 200" in logged:
            break
        await asyncio.sleep(0.1)
    assert "POST /api/chat/stream 200" in logged


async def poll_for_reply(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    for _ in range(600):  # up to a minute: the stream must end on its own, with the client still connected
        conversations = (await client.get("/api/conversations", headers=headers)).json()["items"]
        if conversations:
            url = f"/api/conversations/{conversations[0]['id']}/messages"
            items = (await client.get(url, headers=headers)).json()["items"]
            if len(items) == 2:
                return dict(items[1])
        await asyncio.sleep(0.1)
    raise AssertionError("the stream never ended while the client stopped reading")


def _stream_of(cleaned: list[str], heartbeat_s: float = 30.0, send_timeout_s: float = 30.0) -> EventStreamResponse:
    """One event, then a producer that waits for ever; its clean-up awaits, shielded, as the job reader's does."""

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b"data: first\n\n"
            await asyncio.Event().wait()
        finally:
            with anyio.CancelScope(shield=True):
                await asyncio.sleep(0.01)
                cleaned.append("cleaned")

    return EventStreamResponse(events(), bytes, heartbeat_s=heartbeat_s, send_timeout_s=send_timeout_s)


SCOPE = {"type": "http", "asgi": {"spec_version": "2.3"}}


async def test_a_disconnect_ends_the_stream_and_the_producers_clean_up_runs_whole() -> None:
    cleaned: list[str] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.sleep(0.05)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async with asyncio.timeout(5):
        await _stream_of(cleaned)(SCOPE, receive, send)
    assert cleaned == ["cleaned"]
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[1]["body"] == b"data: first\n\n"


async def test_a_cancellation_from_outside_is_not_taken_for_the_clients_end() -> None:
    cleaned: list[str] = []
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # the client stays
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    task = asyncio.create_task(_stream_of(cleaned)(SCOPE, receive, send))
    while len(sent) < 2:  # noqa: ASYNC110 - the first event is out
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == ["cleaned"]


async def test_a_ping_the_client_does_not_read_ends_the_stream(caplog: pytest.LogCaptureFixture) -> None:
    cleaned: list[str] = []

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message.get("body") == PING:
            await asyncio.Event().wait()  # a full socket buffer: the client stopped reading

    async with asyncio.timeout(5):
        await _stream_of(cleaned, heartbeat_s=0.02, send_timeout_s=0.05)(SCOPE, receive, send)
    assert cleaned == ["cleaned"]
    assert "the client stopped reading" in caplog.text
