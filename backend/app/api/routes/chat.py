"""Chat with the model: one JSON answer, or a stream of server-sent events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import ChatCallDep
from app.api.sse import EventStreamResponse, chat_event_stream
from app.context import AppContext
from app.models import Conversation, User
from app.schemas import ChatIn, ChatOut, MessageOut
from app.services.chat import PreparedTurn
from app.services.chat_settings import new_conversation_settings
from app.services.jobs import JobSlot, ReaderEvent, whole_reply
from app.services.presets import visible_preset

router = APIRouter(prefix="/chat", tags=["chat"])
EVENT_STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "Events: start, token, done, title, error"}
}


def event_stream(context: AppContext, events: AsyncIterator[ReaderEvent]) -> EventStreamResponse:
    settings = context.settings
    return chat_event_stream(events, heartbeat_s=settings.sse_heartbeat_s, send_timeout_s=settings.sse_send_timeout_s)


def reply_job_stream(context: AppContext, slot: JobSlot, turn: PreparedTurn) -> EventStreamResponse:
    """The reply runs as a job of the server; this response is only its first reader."""
    return event_stream(context, context.jobs.start(slot, turn, context.chat.stream))


async def _prepare(
    body: ChatIn, user: User, context: AppContext, session: AsyncSession, conversation: Conversation | None
) -> PreparedTurn:
    new_settings: dict[str, Any] | None = None
    if body.settings is not None:  # checked (422) before anything is stored
        given = body.settings.model_dump(exclude_unset=True)
        preset_id = given.pop("preset_id", None)
        preset = await visible_preset(session, user, preset_id) if preset_id is not None else None
        catalog = context.llm.models()
        await catalog.available()
        new_settings = new_conversation_settings(user, catalog, given, preset)
    return await context.chat.prepare_message(
        session,
        user,
        conversation,
        body.message,
        parent_id=body.parent_id,
        parent_given=body.parent_given,
        attachment_ids=body.attachment_ids,
        new_settings=new_settings,
    )


@router.post("", responses={401: {}, 404: {}, 409: {}, 413: {}, 422: {}, 429: {}, 502: {}, 503: {}, 504: {}})
async def chat(body: ChatIn, call: ChatCallDep) -> ChatOut:
    """Send a message and get the assistant's whole reply (the user's message is kept on errors).
    The reply is a job, as a streamed one: `generating` meanwhile, followed by `GET .../stream`,
    stopped by `POST .../stop`, and finished and saved even if this connection closes."""
    async with call:
        user, conversation = await call.admit(body)
        context = call.context
        async with context.jobs.reserve(user.id, body.conversation_id) as slot:
            turn = await _prepare(body, user, context, call.session, conversation)
            events = context.jobs.start(slot, turn, context.chat.stream)
        call.ticket.done()  # admitted: the wait for the whole reply must not hold streaming replies back
        reply = await whole_reply(events)
        return ChatOut(
            conversation_id=turn.conversation_id,
            user_message=MessageOut.model_validate(turn.user_message),
            assistant_message=MessageOut.model_validate(reply),
        )


@router.post(
    "/stream",
    responses={401: {}, 404: {}, 409: {}, 413: {}, 422: {}, 429: {}, **EVENT_STREAM_RESPONSES},
    response_class=Response,
)
async def chat_stream(body: ChatIn, call: ChatCallDep) -> Response:
    """Send a message and receive the reply as server-sent events. The reply goes on (and is saved
    complete) if the connection closes: `GET /api/conversations/{id}/stream` follows it again."""
    async with call:  # the session and the admission end here, before the streamed reply
        user, conversation = await call.admit(body)  # 404 before 409: no existence leak
        context = call.context
        async with context.jobs.reserve(user.id, body.conversation_id) as slot:
            return reply_job_stream(context, slot, await _prepare(body, user, context, call.session, conversation))
