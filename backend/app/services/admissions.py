"""New chats go first: replies already streaming pause briefly while requests are being admitted.

On one core, a burst of people pressing Enter competes with the tokens of every reply already
flowing; handled in arrival order, the last of 500 simultaneous requests waited ~3 s for its first
token. Like LLM servers that schedule prefill before decode, requests being prepared (auth, limits,
storing the message) take the event loop first, and a flowing reply waits at most `max_pause_s`
(ADMISSION_MAX_PAUSE_MS) before its next token, so a steady stream of arrivals slows replies down
but never stops them. A pause that reaches the cap is logged (at most once per `LOG_EVERY_S`): it
means arrivals outpace admission.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

MAX_PAUSE_S = 0.5
LOG_EVERY_S = 10.0
logger = logging.getLogger("app.admissions")


@dataclass
class Admissions:
    max_pause_s: float = MAX_PAUSE_S
    pending: int = 0
    capped_pauses: int = 0  # pauses that reached the cap, since start
    _idle: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _logged_at: float = field(default=-LOG_EVERY_S, repr=False)
    _logged_count: int = field(default=0, repr=False)

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
        try:
            async with asyncio.timeout(self.max_pause_s):
                await self._idle.wait()
        except TimeoutError:
            self._capped()

    def _capped(self) -> None:
        self.capped_pauses += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_S:
            logger.warning(
                "admissions held streams for the full cap of %.0f ms (%d capped pauses in the last %.0f s, "
                "%d requests still being admitted): arrivals outpace admission",
                self.max_pause_s * 1000,
                self.capped_pauses - self._logged_count,
                min(now - self._logged_at, 1e9),
                self.pending,
            )
            self._logged_at, self._logged_count = now, self.capped_pauses


@dataclass
class AdmissionTicket:
    admissions: Admissions
    finished: bool = False

    def done(self) -> None:
        """Idempotent: the route may finish early (before a long model call), the dependency always does."""
        if not self.finished:
            self.finished = True
            self.admissions._leave()


__all__ = ["MAX_PAUSE_S", "AdmissionTicket", "Admissions"]
