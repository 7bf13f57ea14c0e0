"""What a reply in progress tells its reader, as plain typed events (the API layer encodes them as SSE)."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.errors import AppError
from app.models import Message


@dataclass(slots=True, frozen=True)
class TurnStarted:
    """The user's message is stored (and the conversation exists): the reply is about to start."""

    conversation_id: int
    user_message: Message


@dataclass(slots=True, frozen=True)
class Token:
    """The next piece of the reply's text."""

    text: str


@dataclass(slots=True, frozen=True)
class Reasoning:
    """The next piece of the model's thought summary (shown apart from the answer, never in it)."""

    text: str


@dataclass(slots=True, frozen=True)
class TurnDone:
    assistant_message: Message


@dataclass(slots=True, frozen=True)
class TurnFailed:
    """The reply ended early; whatever it had produced is saved as `assistant_message` (incomplete)."""

    error: AppError
    assistant_message: Message | None


@dataclass(slots=True, frozen=True)
class TitleChanged:
    conversation_id: int
    title: str


ChatEvent = TurnStarted | Token | Reasoning | TurnDone | TurnFailed | TitleChanged


@dataclass(slots=True, frozen=True)
class ReplySync:
    """A reader joining a reply in progress: everything generated so far, then the usual events."""

    text_so_far: str
    assistant_message_id: int | None = None  # set once the reply is stored (it is stored when it ends)
    reasoning_so_far: str | None = None


@dataclass(slots=True, frozen=True)
class RelayedEvent:
    """An event of a reply generated on another instance, as that instance encoded it (its SSE name and JSON)."""

    name: str
    data: str
