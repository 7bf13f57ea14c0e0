"""A small, cheap HTTP/1.1 load generator on raw asyncio streams (127.0.0.1 only).

httpx costs too much CPU per event to drive 1,000 event streams from one core; this client parses
just what the benchmark needs: status, headers, Content-Length or chunked bodies, and the
server-sent events of /api/chat/stream. Every call has a timeout and every loop is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

HOST = "127.0.0.1"  # the load generator never targets anything else

# The fake model's reply (app/llm/fake.py), rebuilt here so every delivered token can be checked.
FILLER = (
    "This is Conversa's development model. It repeats what you wrote and streams the answer word "
    "by word, so the app can be tried without any API key. Configure a real provider to get real "
    "answers. Here is a short list:\n\n- one\n- two\n- three\n\nAnd a bit of `code`."
)
MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 8 * 1024 * 1024


def expected_reply(message: str) -> str:
    return f"You said: {message}\n\n{FILLER}"


def expected_token_count(message: str) -> int:
    return len(expected_reply(message).split(" "))


class HTTPError(Exception):
    pass


def _request_bytes(
    method: str,
    path: str,
    port: int,
    body: bytes | None,
    token: str | None,
    close: bool,
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", "Accept: */*"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    if len(head) > MAX_HEADER_BYTES:
        raise HTTPError("response headers too large")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    return status, headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "content-length" in headers:
        length = int(headers["content-length"])
        if length > MAX_BODY_BYTES:
            raise HTTPError("response body too large")
        return await reader.readexactly(length)
    if headers.get("transfer-encoding", "").lower() == "chunked":
        parts: list[bytes] = []
        total = 0
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
            total += size
            if total > MAX_BODY_BYTES:
                raise HTTPError("response body too large")
    return await reader.read(MAX_BODY_BYTES)


async def request_json(
    port: int,
    method: str,
    path: str,
    payload: Any = None,
    token: str | None = None,
    timeout: float = 30.0,
) -> tuple[int, Any]:
    """One request on its own connection; returns (status, parsed JSON or text)."""
    body = json.dumps(payload).encode() if payload is not None else None
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            writer.write(_request_bytes(method, path, port, body, token, close=True))
            status, headers = await _read_head(reader)
            raw = await _read_body(reader, headers)
        finally:
            writer.close()
    text = raw.decode("utf-8", "replace")
    if "json" in headers.get("content-type", ""):
        return status, json.loads(text) if text else None
    return status, text


async def health_ok(port: int, timeout: float = 1.0) -> bool:
    try:
        status, _ = await request_json(port, "GET", "/api/health", timeout=timeout)
    except (OSError, TimeoutError, HTTPError, asyncio.IncompleteReadError, ValueError):
        return False
    return status == 200


async def make_user(port: int, email: str, password: str = "bench-password-123") -> str:
    """Register (if needed) and log in; returns a bearer token."""
    status, body = await request_json(port, "POST", "/api/auth/register", {"email": email, "password": password})
    if status not in (201, 409):
        raise HTTPError(f"register {email}: {status} {body}")
    status, body = await request_json(port, "POST", "/api/auth/login", {"email": email, "password": password})
    if status != 200:
        raise HTTPError(f"login {email}: {status} {body}")
    return str(body["access_token"])


@dataclass
class StreamResult:
    ok: bool = False
    error: str = ""
    status: int = 0
    started: float = 0.0  # perf_counter when the request was about to be sent (before connect)
    first_token: float = 0.0  # perf_counter of the first `token` event
    done: float = 0.0  # perf_counter of the `done` event
    tokens: int = 0
    expected_tokens: int = 0
    conversation_id: int | None = None
    events: list[str] = field(default_factory=list)

    @property
    def ttft(self) -> float:
        return self.first_token - self.started if self.first_token else float("nan")


class _SSEStream:
    """Incremental chunked-transfer + server-sent-events parser (bytes in, events out)."""

    def __init__(self) -> None:
        self.raw = bytearray()  # undecoded chunked bytes
        self.body = bytearray()  # decoded body, not yet split into events
        self.need = -1  # -1: at a size line, >0: data bytes left, -2: at the CRLF after the data
        self.finished = False

    def feed(self, data: bytes) -> list[bytes]:
        raw = self.raw
        raw += data
        pos = 0
        while not self.finished:
            if self.need == -1:  # a chunk-size line
                end = raw.find(b"\r\n", pos)
                if end < 0:
                    break
                size = int(bytes(raw[pos:end]).split(b";")[0], 16)
                pos = end + 2
                if size == 0:
                    self.finished = True
                    break
                self.need = size
            elif self.need > 0:  # chunk data
                take = min(self.need, len(raw) - pos)
                if take == 0:
                    break
                self.body += raw[pos : pos + take]
                pos += take
                self.need -= take
                if self.need == 0:
                    self.need = -2
            else:  # the CRLF that ends a chunk
                if len(raw) - pos < 2:
                    break
                pos += 2
                self.need = -1
        del raw[:pos]
        return self._events()

    def _events(self) -> list[bytes]:
        body = self.body
        end = body.rfind(b"\n\n")
        if end < 0:
            return []
        complete = bytes(body[: end + 2])
        del body[: end + 2]
        return [event for event in complete.split(b"\n\n") if event]



async def _read_events(reader: asyncio.StreamReader) -> AsyncIterator[tuple[str, bytes]]:
    """A response's server-sent events as (kind, data JSON), comments skipped, until its body ends."""
    parser = _SSEStream()
    while not parser.finished:
        data = await reader.read(65536)
        if not data:
            return
        for event in parser.feed(data):
            if event.startswith(b":"):
                continue
            name, _, data_line = event.partition(b"\n")
            yield name[7:].decode(), data_line[6:]  # "event: <kind>", "data: <json>"

async def chat_stream(
    port: int,
    token: str,
    message: str,
    *,
    conversation_id: int | None = None,
    timeout: float = 120.0,
    gate: asyncio.Event | None = None,
    first_token_only: bool = False,
    stop_after_first_token: bool = False,
    path: str = "/api/chat/stream",
) -> StreamResult:
    """POST /api/chat/stream and follow the events to the end; checks every token arrived.

    With first_token_only the connection is closed after the first token (the reply is a job of
    the server: it goes on and is saved complete): enough to time the first token. With
    stop_after_first_token the reply is also stopped (POST .../stop, after the timing), as closing
    the connection did before replies were jobs: nothing keeps generating behind the next request.
    """
    result = StreamResult(expected_tokens=expected_token_count(message))
    payload: dict[str, Any] = {"message": message}
    if conversation_id is not None:
        payload["conversation_id"] = conversation_id
    request = _request_bytes("POST", path, port, json.dumps(payload).encode(), token, close=True)
    writer: asyncio.StreamWriter | None = None
    parts: list[str] = []
    done_text: str | None = None
    try:
        if gate is not None:
            await gate.wait()
        result.started = time.perf_counter()
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(request)
            result.status, headers = await _read_head(reader)
            if result.status != 200:
                body = await _read_body(reader, headers)
                result.error = f"HTTP {result.status}: {body[:200]!r}"
                return result
            events = _read_events(reader)
            async with contextlib.aclosing(events):
                async for kind, data_line in events:
                    if kind == "token":
                        if not result.first_token:
                            result.first_token = time.perf_counter()
                            if first_token_only:
                                result.ok = True
                                if stop_after_first_token and result.conversation_id is not None:
                                    writer.close()
                                    await request_json(
                                        port, "POST", f"/api/conversations/{result.conversation_id}/stop", token=token
                                    )
                                return result
                        result.tokens += 1
                        parts.append(json.loads(data_line)["text"])
                    elif kind == "start":
                        result.conversation_id = json.loads(data_line)["conversation_id"]
                    elif kind == "done":
                        result.done = time.perf_counter()
                        done_text = json.loads(data_line)["assistant_message"]["content"]
                    elif kind == "error":
                        result.error = f"error event: {data_line[:194].decode()}"
                    result.events.append(kind)
    except TimeoutError:
        result.error = result.error or "timeout"
    except (
        OSError,
        asyncio.IncompleteReadError,
        asyncio.LimitOverrunError,
        ValueError,
        HTTPError,
    ) as exc:
        result.error = result.error or f"{type(exc).__name__}: {exc}"
    finally:
        if writer is not None:
            writer.close()
    if not result.error:
        text = "".join(parts)
        if result.done == 0.0:
            result.error = "stream ended without a done event"
        elif result.tokens != result.expected_tokens or text != expected_reply(message) or done_text != text:
            result.error = f"tokens: got {result.tokens}, expected {result.expected_tokens} (text mismatch or lost)"
        else:
            result.ok = True
    return result


async def follow_reply(port: int, token: str, conversation_id: int, message: str, *, timeout: float = 120.0) -> StreamResult:
    """GET /api/conversations/{id}/stream: the `sync` snapshot, then tokens to `done`; checks that
    sync + tokens is the whole reply, as `done` carries it. A 204 (it ended meanwhile) is `status` 204."""
    result = StreamResult(expected_tokens=expected_token_count(message), conversation_id=conversation_id)
    request = _request_bytes("GET", f"/api/conversations/{conversation_id}/stream", port, None, token, close=True)
    writer: asyncio.StreamWriter | None = None
    synced: str | None = None
    parts: list[str] = []
    done_text: str | None = None
    try:
        result.started = time.perf_counter()
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(request)
            result.status, headers = await _read_head(reader)
            if result.status == 204:
                return result
            if result.status != 200:
                body = await _read_body(reader, headers)
                result.error = f"HTTP {result.status}: {body[:200]!r}"
                return result
            events = _read_events(reader)
            async with contextlib.aclosing(events):
                async for kind, data_line in events:
                    if kind == "sync":
                        synced = json.loads(data_line)["text_so_far"]
                        result.first_token = time.perf_counter()
                    elif kind == "token":
                        result.tokens += 1
                        parts.append(json.loads(data_line)["text"])
                    elif kind == "done":
                        result.done = time.perf_counter()
                        done_text = json.loads(data_line)["assistant_message"]["content"]
                    elif kind == "error":
                        result.error = f"error event: {data_line[:194].decode()}"
                    result.events.append(kind)
    except TimeoutError:
        result.error = result.error or "timeout"
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, HTTPError) as exc:
        result.error = result.error or f"{type(exc).__name__}: {exc}"
    finally:
        if writer is not None:
            writer.close()
    if not result.error:
        text = (synced or "") + "".join(parts)
        if synced is None or result.done == 0.0:
            result.error = "no sync or no done event"
        elif text != expected_reply(message) or done_text != text:
            result.error = f"text mismatch: got {len(text)} chars, expected {len(expected_reply(message))}"
        else:
            result.ok = True
    return result


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    data = sorted(v for v in values if not math.isnan(v))
    if not data:
        return float("nan")
    rank = max(1, min(len(data), round(q / 100 * len(data) + 0.5)))
    return data[rank - 1]
