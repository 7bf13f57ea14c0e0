"""What a user has used today, against the optional daily quota (USER_DAILY_MESSAGES).

One counter row per user and UTC day (`usage_days`): a turn adds one when its question is stored
(a new message, an edit or a regenerate alike), and the quota check reads that one row, whatever
the number of messages the user has (a count over messages took 3 ms at 10,000 of them).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import UsageDay, utcnow

_USAGE = cast(Table, UsageDay.__table__)


def _count_turn_statement(module: Any) -> Any:
    statement = module.insert(_USAGE).values(user_id=bindparam("usage_user"), day=bindparam("usage_day"), messages=1)
    return statement.on_conflict_do_update(
        index_elements=[_USAGE.c.user_id, _USAGE.c.day], set_={"messages": _USAGE.c.messages + 1}
    )


# Built once per dialect (built per call it cost ~0.06 ms of CPU per turn).
_COUNT_TURN = {"postgresql": _count_turn_statement(postgresql), "sqlite": _count_turn_statement(sqlite)}


def start_of_day() -> datetime:
    """Midnight UTC today: the quota counts the turns since then."""
    return utcnow().replace(hour=0, minute=0, second=0, microsecond=0)


def next_reset() -> datetime:
    return start_of_day() + timedelta(days=1)


def seconds_to_reset() -> int:
    """Whole seconds until the daily quota resets (at least 1)."""
    return max(1, int((next_reset() - utcnow()).total_seconds()))


def today() -> date:
    return utcnow().date()


async def messages_sent_today(session: AsyncSession, user_id: int) -> int:
    sent = await session.scalar(select(_USAGE.c.messages).where(_USAGE.c.user_id == user_id, _USAGE.c.day == today()))
    return int(sent or 0)


async def count_turn(session: AsyncSession, user_id: int) -> None:
    """Add one turn to today's counter (in the caller's transaction: it commits with the question)."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    statement = _COUNT_TURN["postgresql" if dialect == "postgresql" else "sqlite"]
    await session.execute(statement, {"usage_user": user_id, "usage_day": today()})
