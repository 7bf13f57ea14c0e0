"""Share links: snapshot a conversation, list and revoke links, read one without an account, continue it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from app.api.deps import (
    ContextDep,
    CurrentUser,
    OwnedConversation,
    SessionDep,
    client_ip,
    sharing_enabled,
)
from app.context import AppContext
from app.models import Share
from app.schemas import ConversationOut, SharedConversationOut, ShareListItem, ShareOut
from app.services import shares as service

router = APIRouter(tags=["shares"])
# CloudFront (or any shared cache) may keep a public snapshot this long: a revoked link can show
# for up to a minute there (docs/API.md says so).
PUBLIC_CACHE = "public, max-age=60"
NOT_FOUND = "Shared conversation not found"


def share_url(context: AppContext, request: Request, share_id: str) -> str:
    origin = (context.settings.public_url or str(request.base_url)).rstrip("/")
    return f"{origin}/s/{share_id}"


def share_out(context: AppContext, request: Request, share: Share) -> ShareOut:
    return ShareOut(
        share_id=share.id,
        url=share_url(context, request, share.id),
        created_at=share.created_at,
        updated_at=share.updated_at,
    )


@router.post(
    "/conversations/{conversation_id}/share",
    status_code=status.HTTP_201_CREATED,
    responses={403: {}, 404: {}},
    dependencies=[Depends(sharing_enabled)],
)
async def share_conversation(
    conversation: OwnedConversation, context: ContextDep, session: SessionDep, request: Request
) -> ShareOut:
    """Snapshot the conversation as it is now under a public link; sharing again refreshes the same link."""
    return share_out(context, request, await service.share_conversation(session, conversation))


@router.get("/shares")
async def list_shares(
    user: CurrentUser, context: ContextDep, session: SessionDep, request: Request
) -> list[ShareListItem]:
    """The user's share links, most recently refreshed first, with their conversation's title."""
    return [
        ShareListItem(
            **share_out(context, request, share).model_dump(), conversation_id=share.conversation_id, title=title
        )
        for share, title in await service.list_shares(session, user)
    ]


@router.delete("/shares/{share_id}", status_code=status.HTTP_204_NO_CONTENT, responses={404: {}})
async def revoke_share(share_id: str, user: CurrentUser, session: SessionDep) -> None:
    """Revoke a link: it answers 404 at once (a cache in front may keep it up to 60 s)."""
    share = await service.get_owned_share(session, user, share_id)
    if share is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Share link not found")
    await service.delete_share(session, share)


async def get_public_share(share_id: str, context: ContextDep, session: SessionDep) -> Share:
    """The shared snapshot, or the same 404 for an unknown, revoked or malformed id (or sharing off)."""
    share = await service.find_share(session, share_id)
    if share is None or not context.settings.allow_sharing:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND, headers={"Cache-Control": "no-store"})
    return share


PublicShare = Annotated[Share, Depends(get_public_share)]


async def limit_public_reads(request: Request, context: ContextDep) -> None:
    await context.limits.hit_shared(client_ip(request))


@router.get("/shared/{share_id}", responses={404: {}, 429: {}}, dependencies=[Depends(limit_public_reads)])
async def read_shared(share: PublicShare, response: Response) -> SharedConversationOut:
    """A shared conversation, for anyone with the link (no token): title, messages and times only."""
    response.headers["Cache-Control"] = PUBLIC_CACHE
    response.headers["X-Robots-Tag"] = "noindex"
    return SharedConversationOut.model_validate(
        {
            "title": share.title,
            "messages": share.messages,
            "created_at": share.created_at,
            "updated_at": share.updated_at,
        }
    )


# Not under /api/shared/: a CDN may cache that prefix, and a cached behaviour cannot forward Authorization.
@router.post("/conversations/from-share/{share_id}", status_code=status.HTTP_201_CREATED, responses={404: {}})
async def continue_shared(user: CurrentUser, share: PublicShare, session: SessionDep) -> ConversationOut:
    """Copy a shared conversation into a new conversation of the signed-in reader, to go on from there."""
    return ConversationOut.model_validate(await service.continue_share(session, user, share))
