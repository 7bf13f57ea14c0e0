"""The LLM service: prompt building within a token budget, error mapping, timeouts, providers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from app.llm import ChatTurn, LLMError, LLMRateLimited, LLMTimeout
from app.llm.errors import LLMConfigError
from app.llm.history import build_prompt
from app.llm.service import LLMService, build_llm_service, fallback_title, resolve_provider, translate_error


def turns(count: int, words: int = 50) -> list[ChatTurn]:
    return [ChatTurn("user" if i % 2 == 0 else "assistant", f"turn {i} " + "word " * words) for i in range(count)]


def test_prompt_starts_with_the_system_message_and_keeps_the_newest_turns() -> None:
    prompt = build_prompt("Be brief.", turns(41), token_budget=1000)
    assert isinstance(prompt[0], SystemMessage)
    assert prompt[0].content == "Be brief."
    assert prompt[-1].content.startswith("turn 40 ")
    assert 3 <= len(prompt) - 1 < 41
    assert isinstance(prompt[1], HumanMessage)  # never starts with a cut-off assistant turn


def test_prompt_size_does_not_grow_with_the_conversation() -> None:
    short = build_prompt("sys", turns(11), token_budget=600)
    long = build_prompt("sys", turns(2001), token_budget=600)
    assert len(long) <= len(short) + 1
    assert sum(len(str(m.content)) for m in long) < 600 * 5


def test_the_newest_turn_is_kept_even_when_it_is_over_budget() -> None:
    prompt = build_prompt("sys", [ChatTurn("user", "x " * 10_000)], token_budget=100)
    assert len(prompt) == 2


def test_fallback_title_is_the_first_words() -> None:
    assert fallback_title("  Olá,   tudo bem? ") == "Olá, tudo bem?"
    long = fallback_title("palavra " * 30)
    assert len(long) <= 61
    assert long.endswith("…")


class StatusError(Exception):
    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message)
        self.code = code


def test_errors_are_translated_for_people() -> None:
    cause = StatusError(429, "Resource exhausted. Please retry in 7s.")
    wrapped = RuntimeError("model error")
    wrapped.__cause__ = cause
    limited = translate_error(wrapped, "gemini")
    assert isinstance(limited, LLMRateLimited)
    assert limited.retry_after == 7
    assert limited.status_code == 429
    assert isinstance(translate_error(type("ReadTimeout", (Exception,), {})(), "gemini"), LLMTimeout)
    failed = translate_error(StatusError(500, "boom"), "gemini")
    assert type(failed) is LLMError
    assert failed.status_code == 502
    assert "boom" not in failed.message


class SlowModel:
    """Stands in for a chat model whose stream stalls after one chunk."""

    def astream(self, messages: Any) -> AsyncIterator[AIMessage]:
        async def gen() -> AsyncIterator[AIMessage]:
            yield AIMessage("first")
            await asyncio.sleep(10)
            yield AIMessage("never")

        return gen()


async def test_a_stalled_stream_times_out(make_settings: Any) -> None:
    service = LLMService(SlowModel(), "test", "slow", make_settings(llm_timeout_s=0.2))  # type: ignore[arg-type]
    received: list[str] = []

    async def consume() -> None:
        async for delta in service.stream_reply([ChatTurn("user", "hi")]):
            received.append(delta)

    with pytest.raises(LLMTimeout):
        await consume()
    assert received == ["first"]


def test_auto_provider_picks_gemini_with_a_key_else_local_else_fake(make_settings: Any, tmp_path: Any) -> None:
    assert resolve_provider(make_settings(llm_provider="auto", google_api_key="k"))[0] == "gemini"
    missing_model = make_settings(llm_provider="auto", local_model_path=tmp_path / "none.gguf")
    provider, warnings = resolve_provider(missing_model)
    assert provider == "fake"
    assert "GOOGLE_API_KEY" in warnings[0]


def test_gemini_without_a_key_is_a_clear_startup_error(make_settings: Any) -> None:
    with pytest.raises(LLMConfigError, match="GOOGLE_API_KEY"):
        build_llm_service(make_settings(llm_provider="gemini"))


def test_providers_build_through_init_chat_model(make_settings: Any) -> None:
    gemini = build_llm_service(
        make_settings(llm_provider="gemini", google_api_key="k", gemini_model="gemini-2.5-flash")
    )
    assert type(gemini.model).__name__ == "ChatGoogleGenerativeAI"
    openai = build_llm_service(
        make_settings(llm_provider="openai", openai_api_key="k", openai_base_url="http://127.0.0.1:9")
    )
    assert type(openai.model).__name__ == "ChatOpenAI"
    ollama = build_llm_service(make_settings(llm_provider="ollama"))
    assert type(ollama.model).__name__ == "ChatOllama"


def test_gemini_client_is_built_on_first_use_not_at_start() -> None:
    import subprocess
    import sys

    from app.core.migrations import BACKEND_DIR

    code = (
        "import sys\n"
        "from app.core.config import Settings\n"
        "from app.llm import build_llm_service\n"
        "settings = Settings(_env_file=None, llm_provider='gemini', google_api_key='k')\n"
        "s = build_llm_service(settings)\n"
        "print('langchain_google_genai' in sys.modules, 'langchain_core' in sys.modules)\n"
        "s.model\n"
        "print('langchain_google_genai' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=BACKEND_DIR, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False", "True"]
