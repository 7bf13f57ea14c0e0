"""Conversations of the current user: list, search, rename, delete, messages, export."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.responses import StreamingResponse

from app.api.deps import ChattingUser, ContextDep, CurrentUser, OwnedConversation, SessionDep, ValidRegenerateIn
from app.api.routes.chat import EVENT_STREAM_RESPONSES, event_stream
from app.schemas import (
    MAX_ID,
    ConversationCreate,
    ConversationListItem,
    ConversationOut,
    ConversationPage,
    ConversationRename,
    MessageOut,
    MessagePage,
)
from app.services import conversations as service
from app.services.chat import NothingToRegenerateError

router = APIRouter(prefix="/conversations", tags=["conversations"])


@router.get("")
async def list_conversations(
    user: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    q: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
) -> ConversationPage:
    """The user's conversations, newest activity first; `q` searches titles and messages (best match first,
    each item with the best-matching `message_id` and an HTML-escaped `snippet` marking the match)."""
    hits, total = await service.list_conversations(
        session, user, limit=limit, offset=offset, query=(q or "").strip() or None
    )
    items = [
        ConversationListItem(
            **ConversationOut.model_validate(hit.conversation).model_dump(),
            message_id=hit.message_id,
            snippet=hit.snippet,
        )
        for hit in hits
    ]
    return ConversationPage(items=items, total=total)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_conversation(body: ConversationCreate, user: CurrentUser, session: SessionDep) -> ConversationOut:
    """Start an empty conversation."""
    return ConversationOut.model_validate(await service.create_conversation(session, user, body.title))


@router.get("/{conversation_id}", responses={404: {}})
async def get_conversation(conversation: OwnedConversation) -> ConversationOut:
    """One conversation."""
    return ConversationOut.model_validate(conversation)


@router.patch("/{conversation_id}", responses={404: {}})
async def rename_conversation(
    body: ConversationRename, conversation: OwnedConversation, session: SessionDep
) -> ConversationOut:
    """Rename a conversation."""
    conversation.title = body.title
    await session.commit()
    return ConversationOut.model_validate(conversation)


@router.delete("/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT, responses={404: {}})
async def delete_conversation(conversation: OwnedConversation, session: SessionDep) -> None:
    """Delete a conversation and its messages."""
    await service.delete_conversation(session, conversation)


@router.get("/{conversation_id}/messages", responses={404: {}})
async def list_messages(
    conversation: OwnedConversation,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> MessagePage:
    """A page of messages, oldest first; `before_id` pages back in time."""
    items, has_more = await service.message_page(session, conversation, limit=limit, before_id=before_id)
    return MessagePage(items=[MessageOut.model_validate(m) for m in items], has_more=has_more)


@router.get(
    "/{conversation_id}/export",
    responses={404: {}, 200: {"content": {"text/markdown": {}, "application/json": {}}}},
    response_class=Response,
)
async def export_conversation(
    conversation: OwnedConversation, context: ContextDep, format: Literal["markdown", "json"] = "markdown"
) -> Response:
    """Download the whole conversation as Markdown or JSON (streamed: a long one is never held in memory)."""
    messages = service.iter_messages(context.sessionmaker, conversation.id)
    if format == "json":
        body, media_type, extension = service.export_json(conversation, messages), "application/json", "json"
    else:
        body, media_type, extension = (
            service.export_markdown(conversation, messages),
            "text/markdown; charset=utf-8",
            "md",
        )
    filename = f"conversation-{conversation.id}.{extension}"
    return StreamingResponse(
        service.in_chunks(body),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post(
    "/{conversation_id}/regenerate",
    responses={404: {}, 409: {}, 413: {}, 429: {}, **EVENT_STREAM_RESPONSES},
    response_class=Response,
)
async def regenerate(
    conversation: OwnedConversation, body: ValidRegenerateIn, context: ContextDep, session: SessionDep, _: ChattingUser
) -> Response:
    """Answer the last user message again (optionally edited first), as an event stream."""
    try:
        turn = await context.chat.prepare_regenerate(session, conversation, body.message)
    except NothingToRegenerateError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, "There is no message to answer in this conversation.") from exc
    return event_stream(context, turn)
