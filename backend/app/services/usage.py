"""What a user has used today, against the optional daily quota (USER_DAILY_MESSAGES)."""

from __future__ import annotations

from datetime import datetime, timedelta

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


def seconds_to_reset() -> int:
    """Whole seconds until the daily quota resets (at least 1)."""
    return max(1, int((next_reset() - utcnow()).total_seconds()))
