"""Plain types the rest of the app uses to talk to the LLM package."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class ChatTurn:
    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    """Sampling options for one call (the OpenAI-compatible endpoint passes its request's)."""

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(slots=True)
class TokenUsage:
    """Filled in by `stream_reply`: the provider's counts when it reports them, else an estimate."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = True
    hit_max_tokens: bool = False  # the provider said the reply was cut by `max_tokens`

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens
