"""Conversations and their messages: listing, search, paging, export, history for the model."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.llm.types import ChatTurn
from app.models import DEFAULT_TITLE, Conversation, Message, User, utcnow
from app.services.search import ConversationHit, search_conversations

EXPORT_PAGE = 500  # messages read per query while an export streams


async def list_conversations(
    session: AsyncSession, user: User, *, limit: int, offset: int, query: str | None
) -> tuple[list[ConversationHit], int]:
    """The user's conversations, newest activity first; with a query, the best matches first."""
    if query:
        return await search_conversations(session, user.id, query, limit=limit, offset=offset)
    condition = Conversation.user_id == user.id
    total = await session.scalar(select(func.count()).select_from(Conversation).where(condition)) or 0
    rows = await session.scalars(
        select(Conversation)
        .where(condition)
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [ConversationHit(conversation, None, None) for conversation in rows], total


async def create_conversation(session: AsyncSession, user: User, title: str | None = None) -> Conversation:
    conversation = Conversation(user_id=user.id, title=title or DEFAULT_TITLE)
    session.add(conversation)
    await session.commit()
    return conversation


async def delete_conversation(session: AsyncSession, conversation: Conversation) -> None:
    # Explicit delete of the messages too: SQLite enforces ON DELETE CASCADE only with the pragma,
    # and a database file opened by another tool may not have it on.
    await session.execute(delete(Message).where(Message.conversation_id == conversation.id))
    await session.delete(conversation)
    await session.commit()


async def message_page(
    session: AsyncSession, conversation: Conversation, *, limit: int, before_id: int | None
) -> tuple[list[Message], bool]:
    statement = select(Message).where(Message.conversation_id == conversation.id)
    if before_id is not None:
        statement = statement.where(Message.id < before_id)
    rows = list(await session.scalars(statement.order_by(Message.id.desc()).limit(limit + 1)))
    has_more = len(rows) > limit
    rows = rows[:limit]
    rows.reverse()
    return rows, has_more


async def iter_messages(
    sessionmaker: async_sessionmaker[AsyncSession], conversation_id: int, page: int = EXPORT_PAGE
) -> AsyncIterator[Message]:
    """Every message of a conversation, oldest first, read a page at a time (keyset on the index)."""
    after = 0
    while True:
        async with sessionmaker() as session:  # its own session: the export outlives the request's
            rows = list(
                await session.scalars(
                    select(Message)
                    .where(Message.conversation_id == conversation_id, Message.id > after)
                    .order_by(Message.id)
                    .limit(page)
                )
            )
        for message in rows:
            yield message
        if len(rows) < page:
            return
        after = rows[-1].id


async def load_recent_history(session: AsyncSession, conversation_id: int, max_messages: int) -> list[ChatTurn]:
    """The newest messages, oldest first; bounded so a turn costs the same in a long conversation."""
    rows = await session.execute(
        select(Message.role, Message.content)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.id.desc())
        .limit(max_messages)
    )
    turns = [ChatTurn(role, content) for role, content in rows if content]  # type: ignore[arg-type]
    turns.reverse()
    return turns


async def last_messages(session: AsyncSession, conversation_id: int, count: int = 2) -> list[Message]:
    rows = await session.scalars(
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id.desc()).limit(count)
    )
    return list(rows)


# The chat hot path writes with Core statements: an ORM flush of one new row costs ~4x the CPU,
# and a burst of 500 chats is bound by exactly this work (bench/README.md).
_CONVERSATIONS = cast(Table, Conversation.__table__)
_MESSAGES = cast(Table, Message.__table__)
_INSERT_CONVERSATION = insert(_CONVERSATIONS).returning(_CONVERSATIONS.c.id)
_INSERT_MESSAGE = insert(_MESSAGES).returning(_MESSAGES.c.id)


async def insert_conversation(session: AsyncSession, user_id: int, when: datetime) -> int:
    values = {"user_id": user_id, "title": DEFAULT_TITLE, "created_at": when, "updated_at": when}
    return int((await session.execute(_INSERT_CONVERSATION, values)).scalar_one())


async def insert_message(
    session: AsyncSession, conversation_id: int, role: str, content: str, status: str, when: datetime
) -> Message:
    """Store one message; the returned Message is a plain copy, not tracked by the session."""
    values = {
        "conversation_id": conversation_id,
        "role": role,
        "content": content,
        "status": status,
        "created_at": when,
    }
    message_id = (await session.execute(_INSERT_MESSAGE, values)).scalar_one()
    return Message(id=message_id, **values)


async def touch_conversation(session: AsyncSession, conversation_id: int, when: datetime | None = None) -> None:
    await session.execute(
        update(Conversation).where(Conversation.id == conversation_id).values(updated_at=when or utcnow())
    )


async def in_chunks(pieces: AsyncIterator[str], size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """Join small pieces into chunks of about `size` bytes: one send per chunk, not per message."""
    buffer: list[bytes] = []
    buffered = 0
    async for piece in pieces:
        data = piece.encode()
        buffer.append(data)
        buffered += len(data)
        if buffered >= size:
            yield b"".join(buffer)
            buffer, buffered = [], 0
    if buffer:
        yield b"".join(buffer)


async def export_markdown(conversation: Conversation, messages: AsyncIterator[Message]) -> AsyncIterator[str]:
    yield f"# {conversation.title}\n\n_{conversation.created_at.isoformat()}_\n\n"
    async for message in messages:
        who = "**You**" if message.role == "user" else "**Assistant**"
        note = " _(incomplete)_" if message.status == "incomplete" else ""
        yield f"{who}{note} — {message.created_at.isoformat()}\n\n{message.content}\n\n"


async def export_json(conversation: Conversation, messages: AsyncIterator[Message]) -> AsyncIterator[str]:
    """One JSON document, written a message at a time."""
    from app.schemas import ConversationOut, MessageOut

    head = json.dumps(ConversationOut.model_validate(conversation).model_dump(mode="json"), ensure_ascii=False)
    yield head[:-1] + ', "messages": ['
    separator = "\n  "
    async for message in messages:
        yield separator + json.dumps(MessageOut.model_validate(message).model_dump(mode="json"), ensure_ascii=False)
        separator = ",\n  "
    yield "\n]}\n"
