"""The embedded local model (llama.cpp), run for real on the default GGUF model.

Skipped when llama-cpp-python or the model is not installed (`make local-model`), except in CI
(CI=true), where a missing local model is a failure.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from app.core.config import Settings
from app.llm.errors import LLMBusy, LLMConfigError
from app.llm.local import (
    LlamaRunner,
    LocalChatModel,
    build_local_chat_model,
    close_local_models,
    local_model_available,
)

IN_CI = os.environ.get("CI", "").lower() == "true"
HELLO = [HumanMessage("Say hello in one short sentence.")]
COUNTING = [HumanMessage("Count from 1 to 1000, separated by commas.")]


def local_settings(**overrides: Any) -> Settings:
    # One thread leaves a core to the event loop (and to whatever else the test machine runs).
    options: dict[str, Any] = {"local_max_tokens": 24, "local_threads": 1, **overrides}
    return Settings(**options)


def require_local_model(settings: Settings) -> None:
    if local_model_available(settings):
        return
    if importlib.util.find_spec("llama_cpp") is None:
        reason = "llama-cpp-python is not installed; run `make local-model`"
    else:
        reason = f"no model file at {settings.default_local_model_path}; run `make local-model`"
    if IN_CI:
        pytest.fail(f"{reason}: CI must test it")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def model() -> Iterator[LocalChatModel]:
    settings = local_settings()
    require_local_model(settings)
    chat_model = build_local_chat_model(settings)
    assert isinstance(chat_model, LocalChatModel)
    yield chat_model
    close_local_models()


def endless_options(model: LocalChatModel) -> dict[str, Any]:
    """Options that keep the model generating until stopped: end-of-sequence is banned."""
    llama: Any = model.runner.llama
    return {"max_tokens": 1500, "logit_bias": {llama.token_eos(): -1000.0}}


async def next_text(stream: AsyncIterator[Any]) -> str:
    """The next chunk with text (the first ones may be empty)."""
    while True:
        chunk = await anext(stream)
        if chunk.content:
            return str(chunk.content)


async def eventually(condition: Callable[[], bool], within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, f"not true within {within_s} s"
        await asyncio.sleep(0.01)


async def wait_until_idle(runner: LlamaRunner, within_s: float) -> None:
    """The model stops generating (the worker thread left the queue) within `within_s` seconds."""
    await eventually(lambda: runner.pending == 0, within_s)


async def collect(model: BaseChatModel, messages: list[BaseMessage], **options: Any) -> list[str]:
    return [str(chunk.content) async for chunk in model.astream(messages, **options) if chunk.content]


@pytest.mark.asyncio
async def test_streams_a_short_reply_token_by_token(model: LocalChatModel) -> None:
    pieces = await collect(model, [SystemMessage("You are a helpful assistant."), *HELLO])

    assert len(pieces) >= 3
    assert len(pieces) <= 24  # local_max_tokens
    assert "".join(pieces).strip()


@pytest.mark.asyncio
async def test_generation_does_not_block_the_event_loop(model: LocalChatModel) -> None:
    gaps: list[float] = []
    generating = True

    async def tick() -> None:
        last = time.monotonic()
        while generating:
            await asyncio.sleep(0.005)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    try:
        pieces = await collect(model, COUNTING, **{**endless_options(model), "max_tokens": 160})
    finally:
        generating = False
        await ticker
    reply_s = time.monotonic() - started

    assert len(pieces) > 100
    assert len(gaps) > 20
    # Blocking the loop would stall it for the whole reply; relative, as a busy machine slows both.
    assert max(gaps) < reply_s / 4


@pytest.mark.asyncio
async def test_closing_the_stream_stops_generation_promptly(model: LocalChatModel) -> None:
    stream = model.astream(COUNTING, **endless_options(model))
    for _ in range(3):
        await next_text(stream)
    assert model.runner.pending == 1

    await stream.aclose()

    await wait_until_idle(model.runner, within_s=1.0)


@pytest.mark.asyncio
async def test_cancelling_the_request_stops_generation_promptly(model: LocalChatModel) -> None:
    first_token = asyncio.Event()

    async def consume() -> None:
        async for chunk in model.astream(COUNTING, **endless_options(model)):
            if chunk.content:
                first_token.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_token.wait(), timeout=30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    await wait_until_idle(model.runner, within_s=1.0)


@pytest.mark.asyncio
async def test_two_concurrent_requests_both_complete(model: LocalChatModel) -> None:
    first, second = await asyncio.gather(collect(model, HELLO), collect(model, [HumanMessage("Name a colour.")]))

    assert "".join(first).strip()
    assert "".join(second).strip()
    assert model.runner.pending == 0


@pytest.mark.asyncio
async def test_queued_requests_are_served_in_arrival_order(model: LocalChatModel) -> None:
    finished: list[str] = []

    async def ask(name: str) -> None:
        await collect(model, HELLO, max_tokens=8)
        finished.append(name)

    tasks = []
    for name in ("first", "second", "third"):
        tasks.append(asyncio.create_task(ask(name)))
        await eventually(lambda: model.runner.pending == len(tasks), within_s=5)
    await asyncio.gather(*tasks)

    assert finished == ["first", "second", "third"]


@pytest.mark.asyncio
async def test_a_full_queue_answers_busy_at_once() -> None:
    settings = local_settings(local_max_queue=1, local_context=512)  # a runner of its own
    require_local_model(settings)
    model = build_local_chat_model(settings)
    assert isinstance(model, LocalChatModel)
    running = model.astream(COUNTING, **endless_options(model))
    waiting = model.astream(HELLO)
    await next_text(running)
    waiting_turn = asyncio.create_task(next_text(waiting))
    try:
        await eventually(lambda: model.runner.pending == 2, within_s=5)

        started = time.monotonic()
        with pytest.raises(LLMBusy):
            await anext(model.astream(HELLO))
        assert time.monotonic() - started < 0.5

        await running.aclose()  # the waiting request gets its turn
        assert await asyncio.wait_for(waiting_turn, timeout=30)
    finally:
        waiting_turn.cancel()
        await asyncio.gather(waiting_turn, return_exceptions=True)
        await waiting.aclose()
        await running.aclose()
        await wait_until_idle(model.runner, within_s=1.0)


def test_sync_invoke_answers(model: LocalChatModel) -> None:
    reply = model.invoke(HELLO)

    assert str(reply.content).strip()
    assert reply.response_metadata["finish_reason"] in {"stop", "length"}


def test_a_missing_model_file_is_a_config_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "missing.gguf"
    settings = local_settings(local_model_path=path)

    assert not local_model_available(settings)
    with pytest.raises(LLMConfigError, match="make local-model") as error:
        build_local_chat_model(settings)
    assert str(path) in str(error.value)


def test_a_file_that_is_not_gguf_is_a_config_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "broken.gguf"
    path.write_bytes(os.urandom(4096))

    with pytest.raises(LLMConfigError, match="not a GGUF model") as error:
        build_local_chat_model(local_settings(local_model_path=path))
    assert str(path) in str(error.value)


def test_a_corrupt_gguf_file_is_a_config_error_naming_the_path(tmp_path: Path) -> None:
    require_local_model(local_settings())  # llama.cpp itself has to reject it
    path = tmp_path / "corrupt.gguf"
    path.write_bytes(b"GGUF" + os.urandom(4096))

    with pytest.raises(LLMConfigError, match="could not be loaded") as error:
        build_local_chat_model(local_settings(local_model_path=path))
    assert str(path) in str(error.value)
