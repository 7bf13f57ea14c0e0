"""The chat flow: save the user's message, call the model, save the reply (streamed or not).

The user's message is committed before the model is called, so it is never lost. Whatever the
model produced before a failure, a stop or a disconnect is saved as an `incomplete` reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.llm import LLMBusy, LLMError, LLMInternalError, LLMService
from app.llm.types import ChatTurn
from app.models import DEFAULT_TITLE, Conversation, Message, User, utcnow
from app.schemas import MessageOut
from app.services.admissions import Admissions
from app.services.conversations import (
    insert_conversation,
    insert_message,
    last_messages,
    load_recent_history,
    touch_conversation,
)
from app.services.usage import ApiTurns, messages_sent_today

logger = logging.getLogger("app.chat")
HEARTBEAT_S = 15.0
TITLE_WAIT_S = 10.0


class NothingToRegenerateError(Exception):
    pass


class DailyQuotaExceeded(Exception):
    pass


class ServerStopping(LLMBusy):
    default_message = "The server is restarting. The reply so far was saved; please try again in a moment."


@dataclass
class PreparedTurn:
    """What a reply needs once the user's side is safely stored."""

    conversation_id: int
    user_message: Message
    history: list[ChatTurn]
    needs_title: bool


@dataclass
class ChatService:
    sessionmaker: async_sessionmaker[AsyncSession]
    llm: LLMService
    settings: Settings
    heartbeat_s: float = HEARTBEAT_S  # a `: ping` after this much silence on an event stream
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)  # set on SIGTERM (app.core.shutdown)
    admissions: Admissions = field(default_factory=Admissions)
    api_turns: ApiTurns = field(default_factory=ApiTurns)  # /v1 completions today (not stored as messages)

    # -- before the model ---------------------------------------------------------------------
    async def check_quota(self, session: AsyncSession, user: User) -> None:
        limit = self.settings.user_daily_messages
        if not limit:
            return
        if await self.messages_used_today(session, user) >= limit:
            raise DailyQuotaExceeded(limit)

    async def messages_used_today(self, session: AsyncSession, user: User) -> int:
        """Messages sent in the web app plus completions asked through /v1, since midnight UTC."""
        return await messages_sent_today(session, user.id) + self.api_turns.today(user.id)

    async def prepare_message(
        self, session: AsyncSession, user: User, conversation: Conversation | None, text: str
    ) -> PreparedTurn:
        """Store the user's message (creating the conversation when needed) and load the history."""
        now = utcnow()
        if conversation is None:
            conversation_id = await insert_conversation(session, user.id, now)
            needs_title = True
            history: list[ChatTurn] | None = [ChatTurn("user", text)]  # all it holds: no need to read it back
        else:
            conversation_id, needs_title, history = conversation.id, conversation.title == DEFAULT_TITLE, None
            await touch_conversation(session, conversation_id, now)
        message = await insert_message(session, conversation_id, "user", text, "complete", now)
        await session.commit()
        return await self._prepared(session, conversation_id, needs_title, message, history)

    async def prepare_regenerate(
        self, session: AsyncSession, conversation: Conversation, new_text: str | None
    ) -> PreparedTurn:
        """Drop the last reply (and optionally rewrite the last question) before answering again."""
        recent = await last_messages(session, conversation.id, 2)
        if recent and recent[0].role == "assistant":
            await session.execute(delete(Message).where(Message.id == recent[0].id))
            recent = recent[1:]
        if not recent or recent[0].role != "user":
            raise NothingToRegenerateError()
        question = recent[0]
        if new_text is not None:
            question.content = new_text
        conversation.updated_at = utcnow()
        await session.commit()
        return await self._prepared(session, conversation.id, conversation.title == DEFAULT_TITLE, question)

    async def _prepared(
        self,
        session: AsyncSession,
        conversation_id: int,
        needs_title: bool,
        message: Message,
        history: list[ChatTurn] | None = None,
    ) -> PreparedTurn:
        if history is None:
            history = await load_recent_history(session, conversation_id, self.settings.chat_history_max_messages)
            # End the read transaction: the pooled connection must not stay checked out while the model answers.
            await session.commit()
        return PreparedTurn(conversation_id, message, history, needs_title)

    # -- after the model ----------------------------------------------------------------------
    async def save_reply(self, conversation_id: int, text: str, status: str) -> Message | None:
        if not text:
            return None
        async with self.sessionmaker() as session:
            now = utcnow()
            reply = await insert_message(session, conversation_id, "assistant", text, status, now)
            await touch_conversation(session, conversation_id, now)
            await session.commit()
            return reply

    async def save_title(self, conversation_id: int, user_text: str, reply_text: str) -> str | None:
        title = await self.llm.generate_title(user_text, reply_text)
        async with self.sessionmaker() as session:
            conversation = await session.get(Conversation, conversation_id)
            # The person may have renamed it meanwhile: their title wins.
            if conversation is None or conversation.title != DEFAULT_TITLE:
                return None
            conversation.title = title
            await session.commit()
        return title

    def start_title(self, turn: PreparedTurn, reply_text: str) -> asyncio.Task[str | None] | None:
        if not turn.needs_title or not reply_text:
            return None
        task = asyncio.create_task(self.save_title(turn.conversation_id, turn.user_message.content, reply_text))
        self.background.add(task)  # keep a reference until done, or the task may be collected
        task.add_done_callback(self.background.discard)
        return task

    # -- the two ways to answer -----------------------------------------------------------------
    async def reply(self, turn: PreparedTurn) -> Message:
        """Answer at once (POST /api/chat). On a model error the partial reply (if any) is kept."""
        parts: list[str] = []
        try:
            async for delta in self.llm.stream_reply(turn.history):
                parts.append(delta)
                if self.stopping.is_set():
                    raise ServerStopping(retry_after=5)
                await self.admissions.wait_turn()  # as in stream(): requests being admitted go first
        except LLMError:
            await self.save_reply(turn.conversation_id, "".join(parts), "incomplete")
            raise
        text = "".join(parts)
        reply = await self.save_reply(turn.conversation_id, text, "complete")
        if reply is None:  # the model answered nothing at all
            raise LLMError("The AI model returned an empty answer. Please try again.")
        self.start_title(turn, text)
        return reply

    async def stream(self, turn: PreparedTurn) -> AsyncIterator[bytes]:
        """Server-sent events: start, token*, then done (+ title) or error."""
        yield sse("start", {"conversation_id": turn.conversation_id, "user_message": message_json(turn.user_message)})
        parts: list[str] = []
        error: LLMError | None = None
        saved: Message | None = None
        finished = False
        try:
            async with contextlib.aclosing(self.llm.stream_reply(turn.history)) as deltas:
                async for delta in deltas:
                    if self.stopping.is_set():
                        raise ServerStopping(retry_after=5)
                    parts.append(delta)
                    yield token_event(delta)
                    # The first token is part of admission; later ones wait for the requests being admitted.
                    await self.admissions.wait_turn()
            finished = True
        except LLMError as exc:
            error = exc
        except Exception:  # anything unexpected still ends the stream with a clear event
            logger.exception("chat stream failed")
            error = LLMInternalError()
        finally:
            # Runs on success, on error and when the client goes away (cancelled or closed): the
            # partial text must reach the database even while this task is being cancelled.
            status = "complete" if finished else "incomplete"
            with anyio.CancelScope(shield=True):
                saved = await self.save_reply(turn.conversation_id, "".join(parts), status)
        if error is not None:
            payload: dict[str, Any] = {
                "code": error.code,
                "message": error.message,
                "assistant_message": message_json(saved),
            }
            if error.retry_after is not None:
                payload["retry_after"] = error.retry_after
            yield sse("error", payload)
            return
        if saved is None:
            yield sse(
                "error",
                {
                    "code": "model_error",
                    "message": "The AI model returned an empty answer. Please try again.",
                    "assistant_message": None,
                },
            )
            return
        yield sse("done", {"assistant_message": message_json(saved)})
        title_task = self.start_title(turn, saved.content)
        if title_task is None:
            return
        title: str | None = None
        try:
            async with asyncio.timeout(TITLE_WAIT_S):
                title = await asyncio.shield(title_task)  # on timeout the title still lands later
        except TimeoutError:
            pass
        except Exception:  # the reply is done and saved: a failed title only loses the title event
            logger.exception("saving the conversation title failed")
        if title:
            yield sse("title", {"conversation_id": turn.conversation_id, "title": title})


def message_json(message: Message | None) -> dict[str, Any] | None:
    return MessageOut.model_validate(message).model_dump(mode="json") if message is not None else None


# One encoder for every event: json.dumps with options builds a new encoder on each call.
_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {_encode_json(data)}\n\n".encode()


def token_event(text: str) -> bytes:
    """`sse("token", {"text": text})`, for the one event sent per token: only the text is encoded."""
    return f'event: token\ndata: {{"text":{_encode_json(text)}}}\n\n'.encode()
