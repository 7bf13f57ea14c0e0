"""What a reply gathers besides its text while it streams: the thought summary and how long the
model thought, and the search grounding; turned into the reply's columns when it is saved."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from app.llm.grounding import normalize_grounding
from app.llm.types import ReplyExtras


@dataclass(slots=True)
class ReplyDraft:
    thoughts: list[str] = field(default_factory=list)
    extras: ReplyExtras = field(default_factory=ReplyExtras)
    thinking: bool = False  # thoughts came and no answer text yet (checked once per text delta)
    _thinking_since: float = 0.0
    _thinking_ms: float = 0.0

    def thought(self, text: str) -> None:
        if not self.thinking:
            self.thinking = True
            self._thinking_since = time.monotonic()
        self.thoughts.append(text)

    def answer_started(self) -> None:
        """The first text after thoughts: the thinking time stops here."""
        self._thinking_ms += (time.monotonic() - self._thinking_since) * 1000
        self.thinking = False

    def metadata(self, text: str) -> dict[str, Any]:
        if self.thinking:  # the reply ended (or failed) while still thinking
            self.answer_started()
        values: dict[str, Any] = {}
        if self.thoughts:
            values["reasoning"] = "".join(self.thoughts)
            values["reasoning_ms"] = round(self._thinking_ms)
        grounding = normalize_grounding(self.extras.grounding, text)
        if grounding is not None:
            values["grounding"] = grounding
        return values
