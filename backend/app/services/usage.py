"""What a user has used today, against the optional daily quota (USER_DAILY_MESSAGES)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Conversation, Message, utcnow


def start_of_day() -> datetime:
    """Midnight UTC today: the quota counts the messages sent since then."""
    return utcnow().replace(hour=0, minute=0, second=0, microsecond=0)


def next_reset() -> datetime:
    return start_of_day() + timedelta(days=1)


async def messages_sent_today(session: AsyncSession, user_id: int) -> int:
    sent = await session.scalar(
        select(func.count(Message.id))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.user_id == user_id, Message.role == "user", Message.created_at >= start_of_day())
    )
    return sent or 0


@dataclass
class ApiTurns:
    """Chat completions answered through /v1 today, per user, in this process's memory.

    /v1 calls are not stored as conversations, so the message count above cannot see them; until
    the per-user-per-day usage table lands, they are counted here (lost on restart, per process).
    """

    counts: dict[int, int] = field(default_factory=dict)
    day: date = field(default_factory=lambda: start_of_day().date())

    def _roll(self) -> None:
        today = start_of_day().date()
        if today != self.day:
            self.day, self.counts = today, {}

    def today(self, user_id: int) -> int:
        self._roll()
        return self.counts.get(user_id, 0)

    def add(self, user_id: int) -> None:
        self._roll()
        self.counts[user_id] = self.counts.get(user_id, 0) + 1


def record_api_turn(turns: ApiTurns, user_id: int, prompt_tokens: int, completion_tokens: int) -> None:
    """Count one /v1 chat completion in the user's usage: the one call site for the usage counter.

    The tokens are not kept yet (the daily quota counts messages); they are passed so that the
    per-user-per-day usage table can store them without touching the route.
    """
    turns.add(user_id)
