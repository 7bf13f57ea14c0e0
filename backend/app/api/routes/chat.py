"""Chat with the model: one JSON answer, or a stream of server-sent events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response

from app.api.deps import Admitting, ChattingUser, ContextDep, SessionDep, ValidChatIn, load_owned_conversation
from app.api.sse import EventStreamResponse
from app.core.context import AppContext
from app.llm import LLMError
from app.models import Conversation, User
from app.schemas import ChatIn, ChatOut, MessageOut
from app.services.chat import PreparedTurn

router = APIRouter(prefix="/chat", tags=["chat"])
EVENT_STREAM_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {}}, "description": "Events: start, token, done, title, error"}
}
STREAM_HEADERS = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}


def event_stream(context: AppContext, turn: PreparedTurn) -> EventStreamResponse:
    return EventStreamResponse(context.chat.stream(turn), headers=STREAM_HEADERS, heartbeat_s=context.chat.heartbeat_s)


async def _prepare(body: ChatIn, user: User, context: AppContext, session: SessionDep) -> PreparedTurn:
    conversation: Conversation | None = None
    if body.conversation_id is not None:
        conversation = await load_owned_conversation(session, user, body.conversation_id)
    return await context.chat.prepare_message(session, user, conversation, body.message)


@router.post("", responses={404: {}, 413: {}, 429: {}, 502: {}, 503: {}, 504: {}})
async def chat(
    body: ValidChatIn, user: ChattingUser, ticket: Admitting, context: ContextDep, session: SessionDep
) -> ChatOut:
    """Send a message and get the assistant's whole reply (the user's message is kept on errors)."""
    turn = await _prepare(body, user, context, session)
    ticket.done()  # admitted: the wait for the whole reply must not hold streaming replies back
    try:
        reply = await context.chat.reply(turn)
    except LLMError as exc:
        headers = {"Retry-After": str(int(exc.retry_after or 30))} if exc.status_code in (429, 503) else None
        raise HTTPException(exc.status_code, exc.message, headers=headers) from exc
    return ChatOut(
        conversation_id=turn.conversation_id,
        user_message=MessageOut.model_validate(turn.user_message),
        assistant_message=MessageOut.model_validate(reply),
    )


@router.post("/stream", responses={404: {}, 413: {}, 429: {}, **EVENT_STREAM_RESPONSES}, response_class=Response)
async def chat_stream(body: ValidChatIn, user: ChattingUser, context: ContextDep, session: SessionDep) -> Response:
    """Send a message and receive the reply as server-sent events."""
    return event_stream(context, await _prepare(body, user, context, session))
