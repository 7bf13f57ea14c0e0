"""Real OpenAI clients against a real server: the official `openai` package and LangChain's ChatOpenAI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest
from langchain_openai import ChatOpenAI

from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def no_embedded_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The model list does not depend on whether this machine has the embedded model installed."""
    monkeypatch.setattr("app.llm.models.local_model_available", lambda settings: False)


def user_key(base_url: str, email: str = "client@example.com") -> str:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        client.post("/api/auth/register", json={"email": email, "password": PASSWORD}).raise_for_status()
        token = client.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()["access_token"]
        response = client.post("/api/keys", headers={"Authorization": f"Bearer {token}"}, json={"name": "client"})
        response.raise_for_status()
        return str(response.json()["key"])


def test_the_official_openai_client_lists_models_and_completes_with_and_without_streaming(
    live_server: Callable[..., Any],
) -> None:
    server = live_server()
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=user_key(server.url), max_retries=0, timeout=30)

    assert [model.id for model in client.models.list()] == ["fake"]
    assert client.models.retrieve("fake").id == "fake"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-9")

    completion = client.chat.completions.create(
        model="fake",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello client"}],
        temperature=0.2,
    )
    text = completion.choices[0].message.content or ""
    assert text.startswith("You said: hello client")
    assert completion.usage is not None
    assert completion.usage.total_tokens > 0

    stream = client.chat.completions.create(
        model="fake",
        messages=[{"role": "user", "content": "hello client"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0


def test_the_openai_client_sees_errors_as_its_own_exceptions(live_server: Callable[..., Any]) -> None:
    server = live_server(chat_rate_limit="3/hour")
    key = user_key(server.url)
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0, timeout=30)
    messages: Any = [{"role": "user", "content": "[[fail-mid]]"}]

    with pytest.raises(openai.APIError, match="could not answer"):
        for _ in client.chat.completions.create(model="fake", messages=messages, stream=True):
            pass
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=messages)
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{server.url}/v1", api_key="cv-wrong", max_retries=0).models.list()
    client.chat.completions.create(model="fake", messages=[{"role": "user", "content": "ok"}])
    client.chat.completions.create(model="fake", messages=[{"role": "user", "content": "ok"}])
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(
            model="fake", messages=[{"role": "user", "content": "one too many"}], stream=True
        )


def test_langchains_chat_openai_works_against_conversa(live_server: Callable[..., Any]) -> None:
    server = live_server()
    model = ChatOpenAI(base_url=f"{server.url}/api/v1", api_key=user_key(server.url), model="fake", max_retries=0)  # type: ignore[arg-type]

    reply = model.invoke("hello langchain")
    assert str(reply.content).startswith("You said: hello langchain")
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["total_tokens"] > 0

    streamed = "".join(str(chunk.content) for chunk in model.stream("hello langchain"))
    assert streamed == reply.content
