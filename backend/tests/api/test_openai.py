"""The OpenAI-compatible endpoint over ASGI: shapes, streaming, the client's system prompt and
options, errors in OpenAI's shape (a failing stream ends with an error chunk and [DONE]), limits."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any, ClassVar

import httpx
import pytest
from langchain_core.messages import BaseMessage, SystemMessage

from app.core.config import Settings
from app.llm.fake import FakeChatModel
from tests.conftest import Api
from tests.fakes.gemini_server import FakeGeminiServer

URL = "/v1/chat/completions"


@pytest.fixture(autouse=True)
def no_embedded_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The model lists here do not depend on whether this machine has the embedded model installed."""
    monkeypatch.setattr("app.llm.models.local_model_available", lambda settings: False)


async def key_for(api: Api, headers: dict[str, str]) -> dict[str, str]:
    response = await api.client.post("/api/keys", headers=headers, json={"name": "tests"})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


def body(text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"model": "fake", "messages": [{"role": "user", "content": text}], **extra}


def data_lines(text: str) -> list[Any]:
    """The `data:` payloads of an event stream, decoded (`[DONE]` stays a string)."""
    lines = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    return [line if line == "[DONE]" else json.loads(line) for line in lines]


class RecordingModel(FakeChatModel):
    """The fake model, keeping what each call received."""

    calls: ClassVar[list[tuple[list[BaseMessage], dict[str, Any]]]] = []

    async def _astream(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any):  # type: ignore[no-untyped-def,override]
        self.calls.append((messages, {**kwargs, "stop": stop}))
        async for piece in super()._astream(messages, stop, run_manager, **kwargs):
            yield piece


async def test_a_completion_has_openais_shape_and_usage(api: Api, alice: dict[str, str]) -> None:
    key = await key_for(api, alice)
    response = await api.client.post(URL, headers=key, json=body("hello"))
    assert response.status_code == 200, response.text
    completion = response.json()
    assert completion["object"] == "chat.completion"
    assert completion["id"].startswith("chatcmpl-")
    assert completion["model"] == "fake"
    [choice] = completion["choices"]
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"].startswith("You said: hello")
    assert choice["finish_reason"] == "stop"
    usage = completion["usage"]
    assert usage["prompt_tokens"] > 0
    assert usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


async def test_a_stream_sends_chunks_usage_and_done(api: Api, alice: dict[str, str]) -> None:
    key = await key_for(api, alice)
    whole = (await api.client.post(URL, headers=key, json=body("stream me"))).json()
    response = await api.client.post(
        URL, headers=key, json=body("stream me", stream=True, stream_options={"include_usage": True})
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = data_lines(response.text)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == whole["choices"][0]["message"]["content"]
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] == whole["usage"]["total_tokens"]
    without_usage = data_lines((await api.client.post(URL, headers=key, json=body("x", stream=True))).text)
    assert all("usage" not in c for c in without_usage[:-1])


async def test_the_same_endpoint_answers_under_api_v1_and_with_the_web_token(api: Api, alice: dict[str, str]) -> None:
    key = await key_for(api, alice)
    assert (await api.client.post("/api/v1/chat/completions", headers=key, json=body())).status_code == 200
    assert (await api.client.post(URL, headers=alice, json=body())).status_code == 200
    models = (await api.client.get("/api/v1/models", headers=key)).json()
    assert models["object"] == "list"
    assert [m["id"] for m in models["data"]] == ["fake"]
    assert (await api.client.post(URL, headers=key, json={**body(), "model": "conversa"})).status_code == 200


async def test_the_models_are_conversas_model_list_and_each_one_answers(
    app_factory: Callable[[Settings], Any], make_settings: Callable[..., Settings]
) -> None:
    with FakeGeminiServer() as gemini:
        settings = make_settings(
            llm_provider="gemini",
            google_api_key="test-key",
            gemini_base_url=gemini.url,
            gemini_models="gemini-2.5-flash, gemini-2.0-flash",
            llm_max_retries=1,
        )
        app = await app_factory(settings)  # type: ignore[misc]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            api = Api(client, app)
            alice = await api.user("alice@example.com")
            key = await key_for(api, alice)
            listed = [m["id"] for m in (await client.get("/v1/models", headers=key)).json()["data"]]
            web_list = [m["id"] for m in (await client.get("/api/models", headers=alice)).json()]
            one = await client.get("/v1/models/gemini-2.0-flash", headers=key)
            missing = await client.get("/v1/models/gpt-9", headers=key)
            with_slash = await client.get("/v1/models/meta-llama/llama-3", headers=key)
            answers = {}
            for model in ("gemini-2.0-flash", "conversa", "fake"):
                gemini.reset()
                response = await client.post(URL, headers=key, json={**body("which model?"), "model": model})
                assert response.status_code == 200, (model, response.text)
                asked = [request.model for request in gemini.generate_requests()]
                answers[model] = (response.json()["model"], asked)
    assert listed == ["gemini-2.5-flash", "gemini-2.0-flash", "fake"]  # the default first
    assert sorted(listed) == sorted(web_list)
    assert one.status_code == 200
    assert one.json() == {
        "id": "gemini-2.0-flash",
        "object": "model",
        "created": one.json()["created"],
        "owned_by": "conversa",
    }
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "model_not_found"
    assert with_slash.status_code == 404
    assert with_slash.json()["error"]["code"] == "model_not_found"  # a model id, not an unknown path
    assert answers == {
        "gemini-2.0-flash": ("gemini-2.0-flash", ["gemini-2.0-flash"]),
        "conversa": ("gemini-2.5-flash", ["gemini-2.5-flash"]),
        "fake": ("fake", []),  # the development model answers itself; Gemini is not asked
    }


async def test_other_paths_under_v1_are_openai_404s_never_the_web_app(
    app_factory: Callable[[Settings], Any], make_settings: Callable[..., Settings], tmp_path: Any
) -> None:
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<!doctype html><title>Conversa</title>")
    app = await app_factory(make_settings(static_dir=web))  # type: ignore[misc]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        assert (await client.get("/s/some-share")).text.startswith("<!doctype html>")  # the SPA is mounted
        answers = [
            await client.request(method, path)
            for method, path in (("GET", "/v1/embeddings"), ("POST", "/v1/completions"), ("GET", "/api/v1/files/x"))
        ]
        other_method = await client.put("/v1/chat/completions")
        other_method_api = await client.delete("/api/v1/models")
    for response in answers:
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"]["code"] == "unknown_url"
        assert response.json()["error"]["type"] == "invalid_request_error"
    for response, allowed in ((other_method, "POST"), (other_method_api, "GET")):
        assert response.status_code == 405, response.text
        assert response.headers["allow"] == allowed
        assert response.json()["error"]["code"] == "method_not_allowed"


async def test_a_body_over_the_size_cap_is_a_413_in_openais_shape(
    app_factory: Callable[[Settings], Any], make_settings: Callable[..., Settings]
) -> None:
    app = await app_factory(make_settings(max_body_bytes=2000))  # type: ignore[misc]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        api = Api(client, app)
        key = await key_for(api, await api.user("alice@example.com"))
        too_big = body("x" * 5000)
        declared = await client.post(URL, headers=key, json=too_big)
        web_app = await client.post("/api/chat", headers=key, json={"message": "x" * 5000})

        async def chunks() -> Any:  # no Content-Length: the cap is found while reading
            yield b'{"model": "fake", "messages": [{"role": "user", "content": "'
            for _ in range(10):
                yield b"x" * 500
            yield b'"}]}'

        streamed = await client.post(URL, headers={**key, "content-type": "application/json"}, content=chunks())
    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert response.json()["error"]["type"] == "invalid_request_error"
        assert response.json()["error"]["code"] == "request_too_large"
    assert web_app.status_code == 413
    assert web_app.json()["code"] == "too_large"  # the rest of the API keeps its own shape
    # ...and the schema says so (a schemathesis find: /v1's 413 was documented in the /api shape).
    responses = app.openapi()["paths"][URL]["post"]["responses"]
    assert responses["413"]["content"]["application/json"]["schema"]["$ref"].endswith("/OpenAIErrorOut")


async def test_the_clients_system_message_replaces_the_default_and_options_reach_the_model(
    api: Api, app: Any, alice: dict[str, str]
) -> None:
    app.state.context.llm.built_model = RecordingModel(delay_s=0)
    RecordingModel.calls.clear()
    key = await key_for(api, alice)
    messages = [
        {"role": "system", "content": "You are a pirate."},
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "arr"},
        {"role": "user", "content": [{"type": "text", "text": "two"}]},
    ]
    request = {"model": "fake", "messages": messages, "temperature": 0.3, "max_tokens": 3, "stop": "END", "seed": 7}
    response = await api.client.post(URL, headers=key, json=request)
    assert response.status_code == 200, response.text
    [(prompt, kwargs)] = RecordingModel.calls
    assert isinstance(prompt[0], SystemMessage)
    assert prompt[0].content == "You are a pirate."
    assert [m.content for m in prompt[1:]] == ["one", "arr", "two"]
    assert kwargs["temperature"] == 0.3
    assert kwargs["max_tokens"] == 3
    assert kwargs["seed"] == 7
    assert kwargs["stop"] == ["END"]
    [choice] = response.json()["choices"]
    assert choice["message"]["content"] == "You said: two\n\nThis"  # the fake honours max_tokens (3 words)
    assert choice["finish_reason"] == "length"
    streamed = data_lines((await api.client.post(URL, headers=key, json={**request, "stream": True})).text)
    assert streamed[-2]["choices"][0]["finish_reason"] == "length"

    RecordingModel.calls.clear()
    await api.client.post(URL, headers=key, json=body("no system message"))
    assert RecordingModel.calls[0][0][0].content == app.state.context.settings.system_prompt


async def test_the_usual_optional_parameters_are_accepted(api: Api, alice: dict[str, str]) -> None:
    key = await key_for(api, alice)
    extra = {
        "top_p": 0.9,
        "n": 1,
        "presence_penalty": 0.5,
        "frequency_penalty": -0.5,
        "user": "someone",
        "seed": 1,
        "stop": ["a", "b"],
        "logit_bias": {"50256": -100},
        "max_completion_tokens": 50,
        "response_format": {"type": "text"},
    }
    response = await api.client.post(URL, headers=key, json=body(**extra))
    assert response.status_code == 200, response.text


async def test_errors_come_in_openais_shape(api: Api, alice: dict[str, str]) -> None:
    key = await key_for(api, alice)
    cases = [
        (None, body(), 401, "invalid_api_key"),
        (key, {**body(), "model": "gpt-9"}, 404, "model_not_found"),
        (key, {"model": "fake"}, 400, "invalid_value"),
        (key, body(n=2), 400, "invalid_value"),
        (key, body(temperature=3), 400, "invalid_value"),
        (key, {"model": "fake", "messages": [{"role": "system", "content": "only a system prompt"}]}, 400, None),
        (key, {"model": "fake", "messages": [{"role": "tool", "content": "x"}]}, 400, "unsupported_role"),
        (key, body([{"type": "image_url", "image_url": {"url": "http://x"}}]), 400, "unsupported_content"),  # type: ignore[arg-type]
        (key, body("[[fail]]"), 502, "model_error"),
        (key, body("[[fail]]", stream=True), 502, "model_error"),
    ]
    for headers, request, status, code in cases:
        response = await api.client.post(URL, headers=headers, json=request)
        assert response.status_code == status, (request, response.text)
        error = response.json()["error"]
        assert isinstance(error["message"], str)
        assert error["message"]
        assert error["type"]
        if code is not None:
            assert error["code"] == code, (request, error)


async def test_a_stream_failing_midway_ends_with_an_error_chunk_and_done(api: Api, alice: dict[str, str]) -> None:
    key = await key_for(api, alice)
    response = await api.client.post(URL, headers=key, json=body("[[fail-mid]]", stream=True))
    assert response.status_code == 200
    events = data_lines(response.text)
    assert events[-1] == "[DONE]"
    assert events[-2]["error"]["code"] == "model_error"
    assert events[-2]["error"]["message"]
    assert any(e.get("choices") and e["choices"][0]["delta"].get("content") for e in events[:-2])


class StallingModel(FakeChatModel):
    """Sends a few tokens, then goes silent (a provider that stops answering mid-way)."""

    async def _astream(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any):  # type: ignore[no-untyped-def,override]
        sent = 0
        async for piece in super()._astream(messages, stop, run_manager, **kwargs):
            yield piece
            sent += 1
            if sent == 3:
                await asyncio.sleep(3600)


async def test_a_stream_whose_model_goes_silent_ends_with_a_timeout_chunk_and_done(
    app_factory: Callable[[Settings], Any], make_settings: Callable[..., Settings]
) -> None:
    app = await app_factory(make_settings(llm_timeout_s=0.5))  # type: ignore[misc]
    app.state.context.llm.built_model = StallingModel(delay_s=0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        api = Api(client, app)
        key = await key_for(api, await api.user("alice@example.com"))
        started = time.monotonic()
        async with asyncio.timeout(20):  # a hang fails here instead of blocking the suite
            response = await client.post(URL, headers=key, json=body("go quiet", stream=True))
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    events = data_lines(response.text)
    assert events[-1] == "[DONE]"
    assert events[-2]["error"]["code"] == "model_timeout"
    assert "".join(e["choices"][0]["delta"].get("content", "") for e in events[:-2]).startswith("You said:")
    assert elapsed < 10


async def test_the_users_rate_limit_applies_before_any_chunk(
    app_factory: Callable[[Settings], Any], make_settings: Callable[..., Settings]
) -> None:
    app = await app_factory(make_settings(chat_rate_limit="2/hour"))  # type: ignore[misc]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        api = Api(client, app)
        key = await key_for(api, await api.user("alice@example.com"))
        assert (await client.post(URL, headers=key, json=body())).status_code == 200
        assert (await client.post("/api/chat", headers=key, json={"message": "x"})).status_code == 401
        assert (await client.post(URL, headers=key, json=body(stream=True))).status_code == 200
        limited = await client.post(URL, headers=key, json=body(stream=True))
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/json"
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert int(limited.headers["retry-after"]) >= 1


async def test_the_daily_quota_counts_api_calls_which_are_not_stored(
    app_factory: Callable[[Settings], Any], make_settings: Callable[..., Settings]
) -> None:
    app = await app_factory(make_settings(user_daily_messages=3))  # type: ignore[misc]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        api = Api(client, app)
        alice = await api.user("alice@example.com")
        key = await key_for(api, alice)
        assert (await client.post("/api/chat", headers=alice, json={"message": "from the web app"})).status_code == 200
        assert (await client.post(URL, headers=key, json=body())).status_code == 200
        assert (await client.post(URL, headers=key, json=body(stream=True))).status_code == 200
        over = await client.post(URL, headers=key, json=body())
        stream_over = await client.post(URL, headers=key, json=body(stream=True))
        web_over = await client.post("/api/chat", headers=alice, json={"message": "one more"})
        usage = (await client.get("/api/usage", headers=alice)).json()
        conversations = (await client.get("/api/conversations", headers=alice)).json()
    assert over.status_code == 429
    assert "daily limit" in over.json()["error"]["message"]
    assert over.json()["error"]["code"] == "insufficient_quota"
    assert stream_over.status_code == 429  # before any chunk: a JSON error, not an event stream
    assert stream_over.headers["content-type"] == "application/json"
    assert stream_over.json()["error"]["code"] == "insufficient_quota"
    assert web_over.status_code == 429
    assert usage["daily_messages_used"] == 3
    assert conversations["total"] == 1  # only the web app's


async def test_bodies_that_are_not_json_are_clear_400s(api: Api, alice: dict[str, str]) -> None:
    key = await key_for(api, alice)
    headers = {**key, "content-type": "application/json"}
    for raw in (
        b"{not json",
        b'{"x": "\xff\xfe"}',
        b'{"model": "fake", "messages": 1e999}',
        b"[" * 5000,
        b"[]",
        b'{"\\ud800": 1}',
    ):
        response = await api.client.post(URL, headers=headers, content=raw)
        assert response.status_code == 400, (raw[:20], response.text)
        assert response.json()["error"]["type"] == "invalid_request_error"
