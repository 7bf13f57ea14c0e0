"""Checks the fake Gemini server against the real client, and records what surfaces.

Every test that goes through `ChatGoogleGenerativeAI` runs twice, once per HTTP
transport the `google-genai` SDK (2.34.0) may pick for async calls:

* "aiohttp": the SDK uses aiohttp for async calls whenever aiohttp is importable.
  It is in the dev venv only because a dev tool (checkov) pulls it in.
* "httpx": what the production image gets (requirements.txt does not bring aiohttp);
  simulated here by setting `google.genai._api_client.has_aiohttp = False`.

Findings (langchain-google-genai 4.4.2, google-genai 2.34.0), asserted below:

* The SDK calls `/v1beta/...` by default; `api_version="v1"` makes it call `/v1/...`.
* `max_retries` is the total number of attempts (1 = no retry; 0 is also 1 attempt).
  Retried: HTTP 408/429/500/502/503/504 and, with httpx only, timeouts/connect errors.
  Back-off between attempts: 1-2 s, then 2-3 s, 4-5 s, ... (RetryInfo.retryDelay is ignored).
* 429 -> `langchain_google_genai.chat_models.GoogleRateLimitError` (no `.code`); the
  `__cause__` is `google.genai.errors.ClientError` with `.code == 429` and
  `.details == {"error": {..., "details": [..., {"@type": ".../google.rpc.RetryInfo",
  "retryDelay": "7s"}]}}`.
* 500 -> `langchain_google_genai.chat_models.GoogleAPIError`, itself a
  `google.genai.errors.ServerError` (`.code == 500`, `.status == "INTERNAL"`).
* timeout -> not wrapped by LangChain: `builtins.TimeoutError` (aiohttp; the limit is
  on the WHOLE request, stream included) or `httpx.ReadTimeout` (httpx; the limit is
  per read, so a long stream with short gaps is fine).
* connection dropped mid-stream -> the chunks already sent are yielded, then
  `aiohttp.client_exceptions.ClientPayloadError` / `httpx.RemoteProtocolError`
  (not wrapped, never retried).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import google.genai._api_client as genai_api_client
import httpx
import pytest
from google.genai import errors as genai_errors
from langchain.chat_models import init_chat_model
from langchain_core.exceptions import ModelError
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_google_genai import ChatGoogleGenerativeAI
from langchain_google_genai.chat_models import (
    ChatGoogleGenerativeAIError,
    GoogleAPIError,
    GoogleRateLimitError,
)

from .gemini_server import FakeGeminiServer

# The SDK with aiohttp leaves an un-awaited `ClientResponse.json` coroutine behind
# on error responses; it is harmless here.
pytestmark = pytest.mark.filterwarnings("ignore:coroutine 'ClientResponse.json' was never awaited")

MODEL = "gemini-2.5-flash"
SIX_WORDS = "one two three four five six"


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def gemini() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer() as server:
        yield server


@pytest.fixture
def server(gemini: FakeGeminiServer) -> Iterator[FakeGeminiServer]:
    gemini.reset()
    yield gemini
    assert gemini.errors == [], "the fake itself raised"
    gemini.reset()


@pytest.fixture(params=["aiohttp", "httpx"])
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "httpx":
        monkeypatch.setattr(genai_api_client, "has_aiohttp", False)
    elif not genai_api_client.has_aiohttp:
        pytest.skip("aiohttp is not installed: the SDK uses httpx only")
    return str(request.param)


def make_llm(server: FakeGeminiServer, **kwargs: Any) -> ChatGoogleGenerativeAI:
    options: dict[str, Any] = {"max_retries": 1, "timeout": 5, **kwargs}
    return ChatGoogleGenerativeAI(model=MODEL, google_api_key="test-key", base_url=server.url, **options)


async def collect(llm: ChatGoogleGenerativeAI, prompt: Any, into: list[str]) -> None:
    async for chunk in llm.astream(prompt):
        assert isinstance(chunk.content, str)
        into.append(chunk.content)


async def call(llm: ChatGoogleGenerativeAI, *, stream: bool) -> None:
    """One `ainvoke`, or one `astream` read to the end."""
    if stream:
        await collect(llm, "hi", [])
    else:
        await llm.ainvoke("hi")


# --------------------------------------------------------------------------- helpers the app may copy
def status_code_of(exc: BaseException) -> int | None:
    """HTTP status of a Gemini error raised through LangChain (None for transport errors)."""
    for e in (exc, exc.__cause__):
        if isinstance(e, genai_errors.APIError):
            return e.code
    return None


def retry_delay_of(exc: BaseException) -> float | None:
    """Seconds from the 429 body's google.rpc.RetryInfo detail (on `__cause__.details`)."""
    for e in (exc, exc.__cause__):
        if isinstance(e, genai_errors.APIError) and isinstance(e.details, dict):
            for detail in (e.details.get("error") or {}).get("details") or []:
                if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
                    match = re.fullmatch(r"([\d.]+)s", str(detail.get("retryDelay", "")))
                    if match:
                        return float(match.group(1))
    return None


# --------------------------------------------------------------------------- happy path
@pytest.mark.asyncio
async def test_ainvoke_returns_the_scripted_text(server: FakeGeminiServer, transport: str) -> None:
    server.script(reply="Olá mundo")
    result = await make_llm(server).ainvoke("hi")

    assert isinstance(result, AIMessage)
    assert result.content == "Olá mundo"
    assert result.response_metadata["finish_reason"] == "STOP"
    request = server.last_request
    assert (request.method, request.version, request.model) == ("generateContent", "v1beta", MODEL)
    assert request.headers["x-goog-api-key"] == "test-key"


@pytest.mark.asyncio
async def test_astream_yields_several_chunks(server: FakeGeminiServer, transport: str) -> None:
    server.script(reply=SIX_WORDS, n_chunks=3)
    chunks: list[str] = []
    await collect(make_llm(server), "hi", chunks)

    # Three text chunks, then LangChain's own empty closing chunk.
    assert [c for c in chunks if c] == ["one two ", "three four ", "five six"]
    assert "".join(chunks) == SIX_WORDS
    assert server.last_request.method == "streamGenerateContent"
    assert server.last_request.query == {"alt": ["sse"]}


@pytest.mark.asyncio
async def test_explicit_chunks_and_usage_metadata(server: FakeGeminiServer, transport: str) -> None:
    server.script(chunks=["Olá", " mundo", "!"])
    merged = None
    async for chunk in make_llm(server).astream("hello there"):
        merged = chunk if merged is None else merged + chunk
    assert merged is not None
    assert merged.content == "Olá mundo!"
    # Gemini's usageMetadata is cumulative per chunk; LangChain turns it into deltas.
    assert merged.usage_metadata is not None
    assert merged.usage_metadata["input_tokens"] == 2
    assert merged.usage_metadata["total_tokens"] == 2 + merged.usage_metadata["output_tokens"]

    server.script(reply=SIX_WORDS)
    result = await make_llm(server).ainvoke("hello there")
    assert result.usage_metadata is not None
    assert result.usage_metadata["input_tokens"] == 2
    assert result.usage_metadata["output_tokens"] == 6


@pytest.mark.asyncio
async def test_system_message_and_history_are_recorded(server: FakeGeminiServer) -> None:
    await make_llm(server).ainvoke(
        [
            SystemMessage("You are Conversa."),
            HumanMessage("first question"),
            AIMessage("first answer"),
            HumanMessage("second question"),
        ]
    )
    request = server.last_request
    assert request.system_text == "You are Conversa."
    assert request.system_instruction == {"parts": [{"text": "You are Conversa."}]}
    assert request.turns == [
        ("user", "first question"),
        ("model", "first answer"),
        ("user", "second question"),
    ]
    assert request.body["contents"][0] == {"parts": [{"text": "first question"}], "role": "user"}
    # No system message: no systemInstruction key at all.
    await make_llm(server).ainvoke("just this")
    assert server.last_request.system_instruction is None
    assert server.last_request.system_text is None


@pytest.mark.asyncio
async def test_scripted_queue_then_default(server: FakeGeminiServer) -> None:
    server.script(reply="first").script(reply="second")
    server.set_default(reply="always")
    llm = make_llm(server)
    assert [(await llm.ainvoke("x")).content for _ in range(4)] == ["first", "second", "always", "always"]
    assert server.pending == 0
    assert len(server.generate_requests()) == 4


# --------------------------------------------------------------------------- HTTP errors
@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [False, True], ids=["ainvoke", "astream"])
async def test_429_raises_google_rate_limit_error(server: FakeGeminiServer, transport: str, stream: bool) -> None:
    server.script(status=429)
    llm = make_llm(server)
    started = time.monotonic()
    with pytest.raises(GoogleRateLimitError) as info:
        await call(llm, stream=stream)
    elapsed = time.monotonic() - started

    exc = info.value
    assert isinstance(exc, ModelError)  # langchain_core.exceptions.ModelRateLimitError
    assert isinstance(exc, ChatGoogleGenerativeAIError)
    assert not hasattr(exc, "code")  # status only on the cause
    cause = exc.__cause__
    assert type(cause) is genai_errors.ClientError
    assert cause.code == 429
    assert cause.status == "RESOURCE_EXHAUSTED"
    assert status_code_of(exc) == 429
    assert retry_delay_of(exc) == 7.0
    assert "429 RESOURCE_EXHAUSTED" in str(exc)
    assert elapsed < 1.0
    assert len(server.generate_requests()) == 1


@pytest.mark.asyncio
async def test_429_retry_delay_is_configurable_and_optional(server: FakeGeminiServer) -> None:
    server.script(status=429, retry_delay="31s")
    server.script(status=429, retry_delay=None)
    with pytest.raises(GoogleRateLimitError) as first:
        await make_llm(server).ainvoke("hi")
    with pytest.raises(GoogleRateLimitError) as second:
        await make_llm(server).ainvoke("hi")
    assert retry_delay_of(first.value) == 31.0
    assert retry_delay_of(second.value) is None


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [False, True], ids=["ainvoke", "astream"])
async def test_500_raises_google_api_error(server: FakeGeminiServer, transport: str, stream: bool) -> None:
    server.script(status=500)
    llm = make_llm(server)
    with pytest.raises(GoogleAPIError) as info:
        await call(llm, stream=stream)
    exc = info.value
    assert isinstance(exc, ModelError)  # langchain_core.exceptions.ModelAPIError
    assert isinstance(exc, genai_errors.ServerError)  # so .code is right there
    assert exc.code == 500
    assert exc.status == "INTERNAL"
    assert type(exc.__cause__) is genai_errors.ServerError
    assert status_code_of(exc) == 500
    assert retry_delay_of(exc) is None


@pytest.mark.asyncio
async def test_503_is_also_google_api_error(server: FakeGeminiServer) -> None:
    server.script(status=503)
    with pytest.raises(GoogleAPIError) as info:
        await make_llm(server).ainvoke("hi")
    assert info.value.code == 503
    assert info.value.status == "UNAVAILABLE"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("max_retries", "attempts", "low"),
    [(0, 1, 0.0), (1, 1, 0.0), (2, 2, 0.9), (3, 3, 2.9)],
)
@pytest.mark.parametrize("status", [429, 500])
async def test_max_retries_is_total_attempts(
    server: FakeGeminiServer, transport: str, status: int, max_retries: int, attempts: int, low: float
) -> None:
    if max_retries == 3 and transport == "httpx":
        pytest.skip("one transport is enough for the slow case")
    server.set_default(status=status)
    started = time.monotonic()
    with pytest.raises((GoogleRateLimitError, GoogleAPIError)):
        await make_llm(server, max_retries=max_retries).ainvoke("hi")
    elapsed = time.monotonic() - started
    assert len(server.generate_requests()) == attempts
    # The backoff waits at least this long; no upper bound: a loaded machine only makes it slower.
    assert elapsed >= low, elapsed


@pytest.mark.asyncio
async def test_retry_then_success(server: FakeGeminiServer) -> None:
    server.script(status=429)
    server.script(reply="after retry")
    result = await make_llm(server, max_retries=2).ainvoke("hi")
    assert result.content == "after retry"
    assert len(server.generate_requests()) == 2


# --------------------------------------------------------------------------- timeouts
TIMEOUT_TYPES = {"aiohttp": TimeoutError, "httpx": httpx.ReadTimeout}


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [False, True], ids=["ainvoke", "astream"])
async def test_slow_response_times_out(server: FakeGeminiServer, transport: str, stream: bool) -> None:
    server.script(delay_s=3)
    llm = make_llm(server, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(TIMEOUT_TYPES[transport]) as info:
        await call(llm, stream=stream)
    elapsed = time.monotonic() - started
    assert type(info.value) is TIMEOUT_TYPES[transport]  # exact class, not a subclass
    assert not isinstance(info.value, ModelError)  # LangChain does not wrap it
    assert status_code_of(info.value) is None
    assert 0.4 <= elapsed < 1.5, elapsed


@pytest.mark.asyncio
async def test_per_call_timeout_overrides_constructor(server: FakeGeminiServer, transport: str) -> None:
    server.script(delay_s=2)
    started = time.monotonic()
    with pytest.raises(TIMEOUT_TYPES[transport]):
        await make_llm(server, timeout=30).ainvoke("hi", timeout=0.5)
    assert time.monotonic() - started < 1.5


@pytest.mark.asyncio
async def test_timeout_retries_only_with_httpx(server: FakeGeminiServer, transport: str) -> None:
    server.set_default(delay_s=3)
    started = time.monotonic()
    with pytest.raises(TIMEOUT_TYPES[transport]):
        await make_llm(server, timeout=0.5, max_retries=2).ainvoke("hi")
    elapsed = time.monotonic() - started
    if transport == "httpx":  # httpx.TimeoutException is a retried error: 2 x 0.5 s + 1-2 s back-off
        assert len(server.generate_requests()) == 2
        assert 1.9 <= elapsed < 3.8, elapsed
    else:  # aiohttp's TimeoutError is not retried
        assert len(server.generate_requests()) == 1
        assert elapsed < 1.5, elapsed


@pytest.mark.asyncio
async def test_timeout_is_total_with_aiohttp_but_per_read_with_httpx(server: FakeGeminiServer, transport: str) -> None:
    # Three chunks 0.6 s apart: 1.2 s in all, every gap under the 1 s timeout.
    server.script(reply=SIX_WORDS, n_chunks=3, chunk_delay_s=0.6)
    chunks: list[str] = []
    llm = make_llm(server, timeout=1)
    if transport == "httpx":
        await collect(llm, "hi", chunks)
        assert "".join(chunks) == SIX_WORDS
    else:
        with pytest.raises(TimeoutError):
            await collect(llm, "hi", chunks)
        assert chunks == ["one two ", "three four "]


# --------------------------------------------------------------------------- dropped connections
def drop_type(transport: str) -> type[Exception]:
    """What a dropped connection raises: aiohttp.client_exceptions.ClientPayloadError
    (aiohttp) or httpx.RemoteProtocolError (httpx)."""
    if transport == "aiohttp":
        import aiohttp

        return aiohttp.ClientPayloadError
    return httpx.RemoteProtocolError


@pytest.mark.asyncio
@pytest.mark.parametrize("sent", [0, 2, 3])
async def test_mid_stream_failure_raises_after_the_chunks_sent(
    server: FakeGeminiServer, transport: str, sent: int
) -> None:
    server.script(reply=SIX_WORDS, n_chunks=3, fail_after_chunks=sent)
    chunks: list[str] = []
    with pytest.raises(drop_type(transport)) as info:
        await collect(make_llm(server, max_retries=3), "hi", chunks)
    assert chunks == ["one two ", "three four ", "five six"][:sent]
    assert type(info.value) is drop_type(transport)
    assert not isinstance(info.value, ModelError)
    assert len(server.generate_requests()) == 1  # never retried, even with max_retries=3
    if transport == "httpx":
        assert "incomplete chunked read" in str(info.value)


@pytest.mark.asyncio
async def test_truncated_non_streaming_body(server: FakeGeminiServer, transport: str) -> None:
    server.script(fail_after_chunks=0)
    with pytest.raises(drop_type(transport)) as info:
        await make_llm(server, max_retries=3).ainvoke("hi")
    assert type(info.value) is drop_type(transport)
    assert len(server.generate_requests()) == 1


# --------------------------------------------------------------------------- configuration
@pytest.mark.asyncio
async def test_constructor_aliases_and_api_version(server: FakeGeminiServer) -> None:
    llm = ChatGoogleGenerativeAI(
        model=MODEL, api_key="k", base_url=server.url, retries=2, request_timeout=3, api_version="v1"
    )
    assert (llm.max_retries, llm.timeout, llm.base_url) == (2, 3.0, server.url)
    server.script(reply="via v1")
    assert (await llm.ainvoke("hi")).content == "via v1"
    assert server.last_request.path == f"/v1/models/{MODEL}:generateContent"
    # A dict with only "api_endpoint" (the old client_options form) works too.
    old = ChatGoogleGenerativeAI(model=MODEL, api_key="k", client_options={"api_endpoint": server.url}, max_retries=1)
    assert (await old.ainvoke("hi")).content == server.default_reply


@pytest.mark.asyncio
async def test_env_var_base_url(server: FakeGeminiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.url)
    llm = ChatGoogleGenerativeAI(model=MODEL, google_api_key="k", max_retries=1)
    assert llm.base_url is None
    server.script(reply="via env")
    assert (await llm.ainvoke("hi")).content == "via env"
    assert server.last_request.path == f"/v1beta/models/{MODEL}:generateContent"


@pytest.mark.asyncio
async def test_explicit_base_url_wins_over_env_var(server: FakeGeminiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    server.script(reply="explicit")
    assert (await make_llm(server).ainvoke("hi")).content == "explicit"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("gemini-2.5-flash",), {"model_provider": "google_genai", "google_api_key": "k"}),
        (("google_genai:gemini-2.5-flash",), {"api_key": "k"}),
    ],
)
async def test_init_chat_model_takes_the_same_kwargs(
    server: FakeGeminiServer, args: tuple[str, ...], kwargs: dict[str, Any]
) -> None:
    llm = init_chat_model(*args, base_url=server.url, max_retries=1, timeout=0.5, **kwargs)
    assert isinstance(llm, ChatGoogleGenerativeAI)
    assert (llm.max_retries, llm.timeout, llm.base_url) == (1, 0.5, server.url)
    server.script(reply="from init_chat_model")
    assert (await llm.ainvoke("hi")).content == "from init_chat_model"
    server.script(status=429)
    with pytest.raises(GoogleRateLimitError):
        await llm.ainvoke("hi")
    server.script(delay_s=2)
    with pytest.raises((TimeoutError, httpx.ReadTimeout)):
        await llm.ainvoke("hi")
    assert len(server.generate_requests()) == 3


def test_get_num_tokens_calls_count_tokens(server: FakeGeminiServer) -> None:
    assert make_llm(server).get_num_tokens("hello there world") == 3
    assert server.last_request.method == "countTokens"
    assert server.generate_requests() == []


# --------------------------------------------------------------------------- raw wire format
def test_wire_format(server: FakeGeminiServer) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    for version in ("v1", "v1beta"):
        base = f"{server.url}/{version}/models/{MODEL}"
        server.script(reply="a b c d", n_chunks=2)
        r = httpx.post(f"{base}:streamGenerateContent", params={"alt": "sse"}, json=body)
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/event-stream"
        events = r.text.split("\r\n\r\n")
        assert events[-1] == ""
        docs = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
        assert [d["candidates"][0]["content"] for d in docs] == [
            {"parts": [{"text": "a b "}], "role": "model"},
            {"parts": [{"text": "c d"}], "role": "model"},
        ]
        assert "finishReason" not in docs[0]["candidates"][0]
        assert docs[1]["candidates"][0]["finishReason"] == "STOP"
        assert docs[1]["usageMetadata"] == {
            "promptTokenCount": 1,
            "candidatesTokenCount": 4,
            "totalTokenCount": 5,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 1}],
        }

        server.script(reply="whole")
        doc = httpx.post(f"{base}:generateContent", json=body).json()
        assert doc["candidates"][0]["content"]["parts"][0]["text"] == "whole"
        assert doc["modelVersion"] == MODEL

        server.script(status=429)
        r = httpx.post(f"{base}:generateContent", json=body)
        assert r.status_code == 429
        error = r.json()["error"]
        assert (error["code"], error["status"]) == (429, "RESOURCE_EXHAUSTED")
        assert {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"} in error["details"]

        assert httpx.post(f"{base}:countTokens", json=body).json()["totalTokens"] == 1
    assert [r.version for r in server.requests] == ["v1"] * 4 + ["v1beta"] * 4
    assert httpx.get(f"{server.url}/v1beta/models").status_code == 404


def test_start_stop_and_restart() -> None:
    server = FakeGeminiServer(default_reply="x")
    server.start()
    url = server.url
    assert url.startswith("http://127.0.0.1:")
    assert httpx.post(f"{url}/v1beta/models/m:generateContent", json={}).status_code == 200
    server.script(delay_s=30)  # a sleeping request must not hold up stop()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{url}/v1beta/models/m:generateContent", json={}, timeout=0.3)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 3
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"{url}/v1beta/models/m:generateContent", json={}, timeout=1)
    server.stop()  # idempotent
