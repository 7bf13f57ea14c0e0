"""New chats go first: replies already streaming pause briefly while requests are being admitted.

On one core, a burst of people pressing Enter competes with the tokens of every reply already
flowing; handled in arrival order, the last of 500 simultaneous requests waited ~3 s for its first
token. Like LLM servers that schedule prefill before decode, requests being prepared (auth, limits,
storing the message) take the event loop first, and a flowing reply waits at most `max_pause_s`
before its next token, so a steady stream of arrivals slows replies down but never stops them.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

MAX_PAUSE_S = 0.5


@dataclass
class Admissions:
    max_pause_s: float = MAX_PAUSE_S
    pending: int = 0
    _idle: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def __post_init__(self) -> None:
        self._idle.set()

    def ticket(self) -> AdmissionTicket:
        """Count one request as being admitted until `ticket.done()`."""
        self.pending += 1
        self._idle.clear()
        return AdmissionTicket(self)

    def _leave(self) -> None:
        self.pending -= 1
        if self.pending == 0:
            self._idle.set()

    async def wait_turn(self) -> None:
        """Return when no request is being admitted, or after `max_pause_s` at most."""
        if self.pending == 0:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.max_pause_s):
                await self._idle.wait()


@dataclass
class AdmissionTicket:
    admissions: Admissions
    finished: bool = False

    def done(self) -> None:
        """Idempotent: the route may finish early (before a long model call), the dependency always does."""
        if not self.finished:
            self.finished = True
            self.admissions._leave()
