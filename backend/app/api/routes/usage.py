"""The current user's usage against the quotas (messages a day, tokens a day and a month)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ContextDep, CurrentUser, SessionDep
from app.schemas import UsageOut
from app.services import usage

router = APIRouter(prefix="/usage", tags=["auth"])


@router.get("")
async def my_usage(user: CurrentUser, context: ContextDep, session: SessionDep) -> UsageOut:
    """Messages and tokens used today and this month (UTC, /v1 completions and titles included) and
    the limits (null when the server sets none)."""
    now = await usage.read_usage(session, user.id)
    quotas = await context.chat.quotas(session)
    return UsageOut(
        daily_messages_used=now.messages_today,
        daily_message_limit=quotas.daily_messages or None,
        resets_at=usage.next_reset(),
        tokens_today=now.tokens_today,
        tokens_this_month=now.tokens_this_month,
        daily_token_limit=quotas.daily_tokens or None,
        monthly_token_limit=quotas.monthly_tokens or None,
        month_resets_at=usage.next_month_reset(),
    )
