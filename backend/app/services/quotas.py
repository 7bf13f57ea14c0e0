"""The per-user quotas checked before a turn starts: messages a day, tokens a day, tokens a month.

Each is off at 0. The check reads one user's counters in one query (app.services.usage.read_usage)
and only when some quota is on; a refusal says what was used, the limit, and when it resets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.services import usage
from app.services.errors import DailyQuotaExceeded, TokenQuotaExceeded


@dataclass(frozen=True, slots=True)
class Quotas:
    daily_messages: int = 0
    daily_tokens: int = 0
    monthly_tokens: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> Quotas:
        return cls(settings.user_daily_messages, settings.user_daily_tokens, settings.user_monthly_tokens)

    @property
    def any(self) -> bool:
        return bool(self.daily_messages or self.daily_tokens or self.monthly_tokens)


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d} at 00:00 UTC"


async def check_quotas(session: AsyncSession, user_id: int, quotas: Quotas) -> None:
    """Raise DailyQuotaExceeded / TokenQuotaExceeded (429, with Retry-After) when a quota is used up."""
    if not quotas.any:
        return
    now = await usage.read_usage(session, user_id)
    if quotas.daily_messages and now.messages_today >= quotas.daily_messages:
        raise DailyQuotaExceeded(
            f"You reached your daily limit of {quotas.daily_messages} messages. It resets at midnight (UTC).",
            retry_after=usage.seconds_to_reset(),
        )
    if quotas.daily_tokens and now.tokens_today >= quotas.daily_tokens:
        raise TokenQuotaExceeded(
            f"You used {now.tokens_today:,} of your {quotas.daily_tokens:,} tokens for today. "
            f"The daily limit resets on {_when(usage.next_reset())}.",
            retry_after=usage.seconds_to_reset(),
        )
    if quotas.monthly_tokens and now.tokens_this_month >= quotas.monthly_tokens:
        raise TokenQuotaExceeded(
            f"You used {now.tokens_this_month:,} of your {quotas.monthly_tokens:,} tokens for this month. "
            f"The monthly limit resets on {_when(usage.next_month_reset())}.",
            retry_after=usage.seconds_to_month_reset(),
        )
