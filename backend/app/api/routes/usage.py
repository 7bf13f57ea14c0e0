"""The current user's usage against the daily message quota."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ContextDep, CurrentUser, SessionDep
from app.schemas import UsageOut
from app.services import usage

router = APIRouter(prefix="/usage", tags=["auth"])


@router.get("")
async def my_usage(user: CurrentUser, context: ContextDep, session: SessionDep) -> UsageOut:
    """Messages sent today (UTC, /v1 completions included) and the daily limit (null when the server sets none)."""
    return UsageOut(
        daily_messages_used=await usage.messages_sent_today(session, user.id),
        daily_message_limit=context.settings.user_daily_messages or None,
        resets_at=usage.next_reset(),
    )
