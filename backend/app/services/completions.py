"""One-off chat completions for the OpenAI-compatible endpoint: no conversation is stored.

The route converts OpenAI's request shape into plain (role, text) turns; this module calls the model
through the LLM layer, paced like the app's own replies (requests being admitted go first, a
stopping server ends the reply), and counts the turn in the user's usage.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import AppError
from app.llm import ChatTurn, GenerationOptions, LLMInternalError, LLMService, TokenUsage
from app.llm.types import ReplySettings
from app.services.admissions import Admissions
from app.services.errors import ServerStopping
from app.services.usage import count_turn

__all__ = ["CompletionOptions", "TokenCount", "internal_error", "record_api_turn", "stream_completion"]

CompletionOptions = GenerationOptions
TokenCount = TokenUsage


def internal_error() -> AppError:
    return LLMInternalError()


async def stream_completion(
    llm: LLMService,
    admissions: Admissions,
    stopping: asyncio.Event,
    turns: Sequence[tuple[Literal["user", "assistant"], str]],
    *,
    model: str,
    system_prompt: str | None,
    options: GenerationOptions,
    usage: TokenUsage,
) -> AsyncGenerator[str, None]:
    """The reply's text deltas from `model` (an id of the model catalog, as a conversation's
    `model` is: the same defaults, e.g. no web search or thinking); `usage` is filled in as the
    provider reports it."""
    history = [ChatTurn(role, text) for role, text in turns]
    reply = ReplySettings(model=model)
    deltas = llm.stream_reply(history, system_prompt=system_prompt, options=options, usage=usage, reply=reply)
    async for delta in _paced(deltas, admissions, stopping):
        yield delta


async def _paced(
    deltas: AsyncGenerator[str, None], admissions: Admissions, stopping: asyncio.Event
) -> AsyncIterator[str]:
    async with contextlib.aclosing(deltas):
        async for delta in deltas:
            if stopping.is_set():
                raise ServerStopping()
            yield delta
            await admissions.wait_turn()


async def record_api_turn(
    sessionmaker: async_sessionmaker[AsyncSession], user_id: int, prompt_tokens: int, completion_tokens: int
) -> None:
    """Count one /v1 chat completion and its tokens in the user's usage (the web app's turns' counter)."""
    async with sessionmaker() as session:
        await count_turn(session, user_id, prompt_tokens, completion_tokens)
        await session.commit()
