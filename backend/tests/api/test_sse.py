"""SSE framing: what the browser's EventSource parser and JSON.parse receive."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import httpx
import pytest

from app.api.sse import sse, token_event
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
