"""Conversations of the current user: list, search, rename, delete, messages, export."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.responses import StreamingResponse

from app.api.deps import (
    ChattingUser,
    ContextDep,
    CurrentUser,
    OwnedConversation,
    SessionDep,
    StorageDep,
    ValidRegenerateIn,
)
from app.api.routes.chat import EVENT_STREAM_RESPONSES, event_stream, reply_job_stream
from app.schemas import (
    MAX_ID,
    ActiveIn,
    ConversationCreate,
    ConversationListItem,
    ConversationOut,
    ConversationPage,
    ConversationUpdate,
    MessageOut,
    MessagePage,
    StopOut,
    TreeNodeOut,
    TreeOut,
)
from app.services import conversations as service
from app.services import tree
from app.services.chat_settings import SETTING_FIELDS, changed_settings, new_conversation_settings
from app.services.errors import ReplyInProgress
from app.services.presets import visible_preset

TREE_MAX_NODES = 5_000  # per page of GET .../tree

router = APIRouter(prefix="/conversations", tags=["conversations"])


@router.get("")
async def list_conversations(
    user: CurrentUser,
    session: SessionDep,
    context: ContextDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    q: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
) -> ConversationPage:
    """The user's conversations, newest activity first; `q` searches titles and messages (best match first,
    each item with the best-matching `message_id` and an HTML-escaped `snippet` marking the match)."""
    hits, total = await service.list_conversations(
        session, user, limit=limit, offset=offset, query=(q or "").strip() or None
    )
    generating = await context.jobs.generating(user.id)
    items = [
        ConversationListItem(
            **ConversationOut.model_validate(hit.conversation).model_dump(exclude={"generating"}),
            message_id=hit.message_id,
            snippet=hit.snippet,
            generating=hit.conversation.id in generating,
        )
        for hit in hits
    ]
    return ConversationPage(items=items, total=total)


@router.post("", status_code=status.HTTP_201_CREATED, responses={404: {}, 422: {}})
async def create_conversation(
    body: ConversationCreate, user: CurrentUser, session: SessionDep, context: ContextDep
) -> ConversationOut:
    """Start an empty conversation; settings left out come from `preset_id`, then the user's
    preferences, then the server's defaults."""
    fields = body.model_dump(exclude_unset=True)
    preset = await visible_preset(session, user, body.preset_id) if body.preset_id is not None else None
    catalog = context.llm.models()
    await catalog.available()
    settings = new_conversation_settings(user, catalog, fields, preset)
    return ConversationOut.model_validate(await service.create_conversation(session, user, body.title, settings))


@router.get("/{conversation_id}", responses={404: {}})
async def get_conversation(conversation: OwnedConversation, context: ContextDep) -> ConversationOut:
    """One conversation (`generating`: a reply is being written in it now)."""
    out = ConversationOut.model_validate(conversation)
    out.generating = conversation.id in await context.jobs.generating(conversation.user_id)
    return out


@router.patch("/{conversation_id}", responses={404: {}})
async def update_conversation(
    body: ConversationUpdate, conversation: OwnedConversation, session: SessionDep, context: ContextDep
) -> ConversationOut:
    """Rename a conversation, or change its settings (the fields given; the next turn uses them)."""
    fields = body.model_dump(exclude_unset=True)
    if body.title is not None:
        conversation.title = body.title
    if any(name in fields for name in SETTING_FIELDS):
        catalog = context.llm.models()
        await catalog.available()
        for name, value in changed_settings(conversation, catalog, fields).items():
            setattr(conversation, name, value)
    await session.commit()
    return ConversationOut.model_validate(conversation)


@router.delete("/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT, responses={404: {}})
async def delete_conversation(conversation: OwnedConversation, session: SessionDep, storage: StorageDep) -> None:
    """Delete a conversation, its messages and the files sent in them."""
    await service.delete_conversation(session, conversation, storage)


@router.get("/{conversation_id}/messages", responses={404: {}})
async def list_messages(
    conversation: OwnedConversation,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> MessagePage:
    """A page of the active path (first message -> active leaf), oldest first; `before_id` pages back along it."""
    items, has_more = await tree.active_page(session, conversation, limit=limit, before_id=before_id)
    return MessagePage(items=[MessageOut.model_validate(m) for m in items], has_more=has_more)


@router.put("/{conversation_id}/active", responses={404: {}})
async def set_active_branch(
    body: ActiveIn,
    conversation: OwnedConversation,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> MessagePage:
    """Show the branch through `message_id` (its newest leaf), for every browser; returns its last page."""
    await tree.set_active(session, conversation, body.message_id)
    items, has_more = await tree.active_page(session, conversation, limit=limit, before_id=None)
    return MessagePage(items=[MessageOut.model_validate(m) for m in items], has_more=has_more)


@router.get("/{conversation_id}/tree", responses={404: {}})
async def conversation_tree(
    conversation: OwnedConversation,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=TREE_MAX_NODES)] = TREE_MAX_NODES,
    after_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> TreeOut:
    """Every message of the conversation without its text, by id, for a tree view (paged with `after_id`)."""
    items, has_more = await tree.tree_page(session, conversation, limit=limit, after_id=after_id)
    return TreeOut(
        active_message_id=await tree.active_leaf(session, conversation),
        items=[TreeNodeOut.model_validate(m) for m in items],
        has_more=has_more,
    )


@router.delete(
    "/{conversation_id}/messages/{message_id}", status_code=status.HTTP_204_NO_CONTENT, responses={404: {}, 409: {}}
)
async def delete_branch(
    conversation: OwnedConversation,
    message_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    session: SessionDep,
    storage: StorageDep,
    context: ContextDep,
) -> None:
    """Delete a message and every message below it (and the files only they carried); the active
    branch moves to a sibling's if it ran through it. 409 `reply_in_progress` while a reply is
    being written in the conversation (its question could be in the branch: stop it or wait)."""
    if conversation.id in await context.jobs.generating(conversation.user_id):
        raise ReplyInProgress()
    await tree.delete_branch(session, conversation, message_id, storage)


@router.get(
    "/{conversation_id}/export",
    responses={404: {}, 200: {"content": {"text/markdown": {}, "application/json": {}}}},
    response_class=Response,
)
async def export_conversation(
    conversation: OwnedConversation, context: ContextDep, format: Literal["markdown", "json"] = "markdown"
) -> Response:
    """Download the conversation (streamed): Markdown follows the active branch, JSON has every message."""
    if format == "json":
        async with context.sessionmaker() as session:
            active_id, children = await service.tree_shape(session, conversation)
        messages = service.iter_messages(context.sessionmaker, conversation.id)
        body = service.export_json(conversation, messages, active_id, children)
        media_type, extension = "application/json", "json"
    else:
        body, media_type, extension = (
            service.export_markdown(conversation, service.iter_active_path(context.sessionmaker, conversation)),
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
    """Answer a question again as a new sibling reply (optionally edited first), as an event stream."""
    async with context.jobs.reserve(conversation.user_id, conversation.id) as slot:
        turn = await context.chat.prepare_regenerate(session, conversation, body.message, body.message_id)
        return reply_job_stream(context, slot, turn)


@router.get(
    "/{conversation_id}/stream",
    responses={204: {"description": "No reply is being generated here"}, 404: {}, **EVENT_STREAM_RESPONSES},
    response_class=Response,
)
async def follow_reply(conversation: OwnedConversation, context: ContextDep) -> Response:
    """Follow the reply being generated (from any tab or device): one `sync` event with the text so far,
    then the same `token` ... `done` (or `error`) events as `/api/chat/stream`; 204 when there is none."""
    events = await context.jobs.follow(conversation.user_id, conversation.id)
    if events is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return event_stream(context, events)


@router.post("/{conversation_id}/stop", responses={404: {}})
async def stop_reply(conversation: OwnedConversation, context: ContextDep) -> StopOut:
    """Stop the reply being generated, from any connection; what it wrote so far is saved `incomplete`."""
    return StopOut(stopped=await context.jobs.stop(conversation.user_id, conversation.id))
