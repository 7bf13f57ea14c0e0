"""A deterministic streaming chat model for development, tests and benchmarks.

The reply is derived from the user's message and streamed word by word with a fixed delay, so
the server (not a model) is what gets measured. Markers in the message script it: `[[fail]]`
fails before any token, `[[fail-mid]]` fails after a few tokens, `[[pace:N]]` streams this reply
at N ms a word whatever the configured delay (a test that acts in the middle of a reply asks for
a slow one; the others run at the fast default). A call's `max_tokens` cuts the reply after that
many words, as a real model's would.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from app.llm.prompts import TITLE_INSTRUCTION

FAIL_MARKER = "[[fail]]"
FAIL_MID_MARKER = "[[fail-mid]]"
PACE_MARKER = re.compile(r"\[\[pace:(\d{1,4})\]\]")
FILLER = (
    "This is Conversa's development model. It repeats what you wrote and streams the answer word "
    "by word, so the app can be tried without any API key. Configure a real provider to get real "
    "answers. Here is a short list:\n\n- one\n- two\n- three\n\nAnd a bit of `code`."
)


class FakeModelError(RuntimeError):
    """A scripted model failure."""


class FakeChatModel(BaseChatModel):
    delay_s: float = 0.02

    @property
    def _llm_type(self) -> str:
        return "conversa-fake"

    def reply_for(self, messages: list[BaseMessage]) -> str:
        last = str(messages[-1].content) if messages else ""
        if messages and isinstance(messages[0], SystemMessage) and messages[0].content == TITLE_INSTRUCTION:
            question = last.removeprefix("User: ").split("\n\nAssistant:")[0]
            return " ".join(PACE_MARKER.sub("", question).split()[:6])  # a title without the script
        return f"You said: {last}\n\n{FILLER}"

    def _tokens(self, messages: list[BaseMessage], max_tokens: int | None = None) -> list[str]:
        text = self.reply_for(messages)
        words = text.split(" ")
        return [word if i == 0 else f" {word}" for i, word in enumerate(words)][:max_tokens]

    def _was_cut(self, messages: list[BaseMessage], max_tokens: int | None) -> bool:
        return max_tokens is not None and len(self._tokens(messages)) > max_tokens

    def _script(self, messages: list[BaseMessage]) -> tuple[int | None, float]:
        """After how many tokens the scripted failure comes, and the seconds between words (the
        message's `[[pace:N]]`, else the configured delay). Read once per call: a message may be megabytes."""
        last = str(messages[-1].content) if messages else ""
        fail_at = 0 if FAIL_MARKER in last else 5 if FAIL_MID_MARKER in last else None
        pace = PACE_MARKER.search(last)
        return fail_at, int(pace.group(1)) / 1000 if pace else self.delay_s

    @staticmethod
    def _check_failure(fail_at: int | None, sent: int) -> None:
        if fail_at == sent:
            where = "before the first token" if sent == 0 else "in the middle of the reply"
            raise FakeModelError(f"scripted failure {where}")

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(chunk.message.content for chunk in self._stream(messages, **kwargs))  # type: ignore[misc]
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        parts = [str(chunk.message.content) async for chunk in self._astream(messages, **kwargs)]
        return ChatResult(generations=[ChatGeneration(message=AIMessage("".join(parts)))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        fail_at, delay = self._script(messages)
        for sent, token in enumerate(self._tokens(messages, kwargs.get("max_tokens"))):
            self._check_failure(fail_at, sent)
            if delay:
                time.sleep(delay)
            yield ChatGenerationChunk(message=AIMessageChunk(content=token))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        fail_at, delay = self._script(messages)
        for sent, token in enumerate(self._tokens(messages, kwargs.get("max_tokens"))):
            self._check_failure(fail_at, sent)
            if delay:
                await asyncio.sleep(delay)
            yield ChatGenerationChunk(message=AIMessageChunk(content=token))
        if self._was_cut(messages, kwargs.get("max_tokens")):
            yield ChatGenerationChunk(message=AIMessageChunk(content="", response_metadata={"finish_reason": "length"}))
