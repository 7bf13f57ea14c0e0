"""Plain types the rest of the app uses to talk to the LLM package."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
PDF_TYPE = "application/pdf"


@dataclass(frozen=True, slots=True)
class Attachment:
    """One file of a turn: its bytes, or text already extracted (a PDF's, for a model without vision)."""

    name: str
    mime_type: str
    data: bytes | None = None
    text: str | None = None
    page_count: int | None = None

    @property
    def is_image(self) -> bool:
        return self.mime_type in IMAGE_TYPES

    @property
    def is_pdf(self) -> bool:
        return self.mime_type == PDF_TYPE


@dataclass(frozen=True, slots=True)
class ChatTurn:
    role: Literal["user", "assistant"]
    content: str
    attachments: tuple[Attachment, ...] = ()  # files sent with a user turn, in order


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
    completion_tokens: int = 0  # includes the reasoning tokens, when the model thought
    reasoning_tokens: int = 0
    estimated: bool = True
    hit_max_tokens: bool = False  # the provider said the reply was cut by `max_tokens`

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class ReplySettings:
    """A conversation's settings for one turn; None/False: the server's defaults."""

    model: str | None = None  # an id of the model catalog; unknown or None: the default model
    system_prompt: str | None = None  # replaces SYSTEM_PROMPT (the default persona)
    temperature: float | None = None
    web_search: bool = False
    thinking: bool = False


@dataclass(frozen=True, slots=True)
class Thought:
    """A piece of the model's thought summary (streamed apart from the answer's text)."""

    text: str


@dataclass(slots=True)
class ReplyExtras:
    """Filled in by `stream_parts`: what the provider reported besides text and usage."""

    grounding: dict[str, Any] | None = None  # the provider's grounding metadata, as it sent it
