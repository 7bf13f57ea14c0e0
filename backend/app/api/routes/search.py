"""Search everything the current user wrote or was answered: message-level hits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import CurrentUser, SessionDep
from app.schemas import SearchHitOut, SearchPage
from app.services import search

router = APIRouter(prefix="/search", tags=["conversations"])
SearchText = Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]


@router.get("")
async def search_messages(
    q: SearchText,
    user: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> SearchPage:
    """The user's messages matching `q` (words; the last one also as a prefix), best match first."""
    hits, has_more = await search.search_messages(session, user.id, q, limit=limit, offset=offset)
    return SearchPage(
        items=[
            SearchHitOut(
                conversation_id=hit.conversation_id,
                conversation_title=hit.conversation_title,
                message_id=hit.message_id,
                role=hit.role,
                snippet=hit.snippet,
                created_at=hit.created_at,
            )
            for hit in hits
        ],
        has_more=has_more,
    )
