"""Conversations and their messages: listing, search, paging, export, history for the model."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, delete, exists, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import attributes

from app.core.writes import Returned, Write
from app.models import (
    DEFAULT_TITLE,
    Conversation,
    Message,
    MessageAttachment,
    Share,
    SiblingIndex,
    Upload,
    User,
    utcnow,
)
from app.services.attachments import attach_attachments
from app.services.search import ConversationHit, search_conversations
from app.services.storage import Storage
from app.services.tree import MAX_DEPTH, active_leaf, path_ids, path_messages
from app.services.uploads import conversation_uploads

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


async def create_conversation(
    session: AsyncSession, user: User, title: str | None = None, settings: Mapping[str, Any] | None = None
) -> Conversation:
    conversation = Conversation(user_id=user.id, title=title or DEFAULT_TITLE, **(settings or {}))
    session.add(conversation)
    await session.commit()
    return conversation


async def delete_conversation(session: AsyncSession, conversation: Conversation, storage: Storage) -> None:
    """The conversation, its messages and the files sent in them."""
    files = await conversation_uploads(session, conversation.id)
    keys = [upload.storage_key for upload in files]
    if files:
        await session.execute(delete(Upload).where(Upload.id.in_([upload.id for upload in files])))
    # Explicit delete of the messages too: SQLite enforces ON DELETE CASCADE only with the pragma,
    # and a database file opened by another tool may not have it on.
    messages = select(Message.id).where(Message.conversation_id == conversation.id)
    await session.execute(delete(MessageAttachment).where(MessageAttachment.message_id.in_(messages)))
    await session.execute(delete(Message).where(Message.conversation_id == conversation.id))
    await session.execute(delete(Share).where(Share.conversation_id == conversation.id))  # its links die with it
    await session.delete(conversation)
    await session.commit()
    # After the commit: a file whose delete fails is an orphan the cleanup sweeps, never a row without its file.
    await storage.delete(keys)


async def all_messages(session: AsyncSession, conversation: Conversation) -> list[Message]:
    """Every message of the conversation by id, with its files (what the JSON export holds)."""
    messages = list(
        await session.scalars(select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id))
    )
    await attach_attachments(session, messages)
    return messages


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
            await attach_attachments(session, rows)  # one query per page
        for message in rows:
            yield message
        if len(rows) < page:
            return
        after = rows[-1].id


# The chat hot path writes with Core statements: an ORM flush of one new row costs ~4x the CPU,
# and a burst of 500 chats is bound by exactly this work (bench/README.md).
_CONVERSATIONS = cast(Table, Conversation.__table__)
_MESSAGES = cast(Table, Message.__table__)
_INSERT_CONVERSATION = insert(_CONVERSATIONS).returning(_CONVERSATIONS.c.id)
_INSERT_MESSAGE = insert(_MESSAGES).returning(_MESSAGES.c.id)
# A question under a named parent, inserted only if that parent is an assistant message of the
# conversation: the check and the insert are one statement (no read before it, nothing to race).
_PARENT = _MESSAGES.alias("parent")
_QUESTION_COLUMNS = ("conversation_id", "parent_id", "role", "content", "status", "created_at")
_INSERT_UNDER_ANSWER = (
    insert(_MESSAGES)
    .from_select(
        list(_QUESTION_COLUMNS),
        select(
            bindparam("conversation_id", type_=_MESSAGES.c.conversation_id.type),
            bindparam("parent_id", type_=_MESSAGES.c.parent_id.type),
            literal("user", _MESSAGES.c.role.type),
            bindparam("content", type_=_MESSAGES.c.content.type),
            literal("complete", _MESSAGES.c.status.type),
            bindparam("created_at", type_=_MESSAGES.c.created_at.type),
        ).where(
            exists().where(
                _PARENT.c.id == bindparam("parent_id"),
                _PARENT.c.conversation_id == bindparam("conversation_id"),
                _PARENT.c.role == "assistant",
            )
        ),
    )
    .returning(_MESSAGES.c.id)
)
# touch_conversation's three statements, built once on the table (no ORM bulk-update pass): built
# per call as ORM updates they cost ~0.15 ms of CPU each, twice a chat turn (profile_turn.py).
_TOUCH = update(_CONVERSATIONS).where(_CONVERSATIONS.c.id == bindparam("touch_id"))
_TOUCH_WHEN = _TOUCH.values(updated_at=bindparam("touch_when"))
_TOUCH_ACTIVE = _TOUCH.values(updated_at=bindparam("touch_when"), active_message_id=bindparam("touch_active"))
_TOUCH_ACTIVE_IF = _TOUCH.values(
    updated_at=bindparam("touch_when"),
    active_message_id=case(
        # Unset: a new conversation, whose first reply becomes its leaf.
        (
            or_(
                _CONVERSATIONS.c.active_message_id.is_(None),
                _CONVERSATIONS.c.active_message_id == bindparam("touch_if_active"),
            ),
            bindparam("touch_active"),
        ),
        else_=_CONVERSATIONS.c.active_message_id,
    ),
)


def conversation_insert(user_id: int, when: datetime, settings: Mapping[str, Any] | None = None) -> Write:
    """A new conversation (its id is what the write returns)."""
    values = {"user_id": user_id, "title": DEFAULT_TITLE, "created_at": when, "updated_at": when, **(settings or {})}
    return Write(_INSERT_CONVERSATION, values)


async def insert_conversation(
    session: AsyncSession, user_id: int, when: datetime, settings: Mapping[str, Any] | None = None
) -> int:
    write = conversation_insert(user_id, when, settings)
    return int((await session.execute(write.statement, write.values)).scalar_one())


async def insert_message(
    session: AsyncSession,
    conversation_id: int,
    role: str,
    content: str,
    status: str,
    when: datetime,
    parent_id: int | None,
    metadata: Mapping[str, Any] | None = None,
) -> Message:
    """Store one message under `parent_id` (already committed); a plain copy, not tracked by the session.

    `metadata`: a reply's other columns (model, token counts, reasoning, grounding).
    """
    write = message_insert(conversation_id, role, content, status, when, parent_id, metadata)
    message_id = (await session.execute(write.statement, write.values)).scalar_one()
    return message_of(write, message_id)


def message_insert(
    conversation_id: int | Returned,
    role: str,
    content: str,
    status: str,
    when: datetime,
    parent_id: int | Returned | None,
    metadata: Mapping[str, Any] | None = None,
) -> Write:
    """`insert_message` as a write of a batch (app.core.writes): its id is what it returns."""
    values = {
        "conversation_id": conversation_id,
        "parent_id": parent_id,
        "role": role,
        "content": content,
        "status": status,
        "created_at": when,
        **(metadata or {}),
    }
    return Write(_INSERT_MESSAGE, values)


def message_of(write: Write, message_id: int, results: Sequence[Any] = ()) -> Message:
    """The message a `message_insert` stored (`results`: its batch's, for the values it took from them)."""
    values = {key: results[value.step] if isinstance(value, Returned) else value for key, value in write.values.items()}
    return Message(id=message_id, **values)


def question_under_answer_insert(conversation_id: int, content: str, when: datetime, parent_id: int) -> Write:
    """A user message under `parent_id` if that is an assistant message of the conversation (committed,
    not a question waiting for its reply), as a required write: no row (not an answer here), nothing stored."""
    values = {"conversation_id": conversation_id, "parent_id": parent_id, "content": content, "created_at": when}
    return Write(_INSERT_UNDER_ANSWER, values, required=True)


def question_of(write: Write, message_id: int) -> Message:
    return Message(id=message_id, role="user", status="complete", **write.values)


async def touch_conversation(
    session: AsyncSession,
    conversation_id: int,
    when: datetime | None = None,
    *,
    active_id: int | None = None,
    if_active: int | None = None,
) -> None:
    """Mark activity; with `active_id`, make it the active leaf (only while `if_active` is, when given:
    a reply that ends after the person switched branch must not pull them back)."""
    when = when or utcnow()
    write = conversation_touch(conversation_id, when, active_id=active_id, if_active=if_active)
    await session.execute(write.statement, write.values)
    touched(session, conversation_id, when, active_id=active_id, if_active=if_active)


_SET_TITLE = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("title_id"), _CONVERSATIONS.c.title == DEFAULT_TITLE)
    .values(title=bindparam("title_new"))
    .returning(_CONVERSATIONS.c.id)
)


def title_update(conversation_id: int, title: str) -> Write:
    """A generated title, only while the conversation still has the default one (returns its id when set)."""
    return Write(_SET_TITLE, {"title_id": conversation_id, "title_new": title})


def conversation_touch(
    conversation_id: int, when: datetime, *, active_id: int | Returned | None = None, if_active: int | None = None
) -> Write:
    """`touch_conversation` as a write of a batch; call `touched` once it is stored."""
    params = {"touch_id": conversation_id, "touch_when": when, "touch_active": active_id, "touch_if_active": if_active}
    statement = _TOUCH_WHEN if active_id is None else _TOUCH_ACTIVE if if_active is None else _TOUCH_ACTIVE_IF
    return Write(statement, params)


def touched(
    session: AsyncSession, conversation_id: int, when: datetime, *, active_id: int | None, if_active: int | None
) -> None:
    """As an ORM update would: the session's copy of the conversation (if loaded) sees the new values."""
    loaded = session.sync_session.identity_map.get(session.sync_session.identity_key(Conversation, (conversation_id,)))
    if isinstance(loaded, Conversation):
        attributes.set_committed_value(loaded, "updated_at", when)
        if active_id is not None and (if_active is None or loaded.active_message_id in (None, if_active)):
            attributes.set_committed_value(loaded, "active_message_id", active_id)


async def iter_active_path(
    sessionmaker: async_sessionmaker[AsyncSession], conversation: Conversation, page: int = EXPORT_PAGE
) -> AsyncIterator[Message]:
    """The active path, root first, read a page at a time (only its ids are held: a long one streams)."""
    async with sessionmaker() as session:
        ids = await path_ids(session, conversation.id, await active_leaf(session, conversation))
    for start in range(0, len(ids), page):
        async with sessionmaker() as session:
            rows = await session.scalars(
                select(Message).where(Message.id.in_(ids[start : start + page])).order_by(Message.id)
            )
            chunk = list(rows)
            await attach_attachments(session, chunk)
        for message in chunk:
            yield message


async def tree_shape(
    session: AsyncSession, conversation: Conversation
) -> tuple[int | None, dict[int | None, list[int]]]:
    """The active leaf and the children (ids only) of every message with more than one, for the JSON
    export: a message missing from the map is its parent's only child, so a conversation without
    branches costs nothing here however long it is."""
    children: dict[int | None, list[int]] = {}
    count = func.count().over(partition_by=Message.parent_id).label("count")
    shape = select(Message.id, Message.parent_id, count).where(Message.conversation_id == conversation.id).subquery()
    rows = await session.execute(select(shape.c.id, shape.c.parent_id).where(shape.c.count > 1).order_by(shape.c.id))
    for message_id, parent_id in rows:
        children.setdefault(parent_id, []).append(message_id)
    return await active_leaf(session, conversation), children


async def active_path(session: AsyncSession, conversation: Conversation) -> list[Message]:
    """The whole active path, root first, with its files (what the Markdown export and a share show)."""
    messages = await path_messages(session, conversation.id, await active_leaf(session, conversation), MAX_DEPTH)
    await attach_attachments(session, messages)
    return messages


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
        parts = [f"{who}{note} — {message.created_at.isoformat()}\n\n"]
        if message.attachments:
            names = ", ".join(_markdown_name(upload.name) for upload in message.attachments)
            parts.append(f"_Attachments: {names}_\n\n")
        if message.content:
            parts.append(f"{message.content}\n\n")
        yield "".join(parts)


def _markdown_name(name: str) -> str:
    """A file name as literal text: its own `*`, `_` or `[` must not turn into Markdown."""
    return "".join(f"\\{c}" if c in "\\`*_[]<>#|" else c for c in name)


async def export_json(
    conversation: Conversation,
    messages: AsyncIterator[Message],
    active_id: int | None,
    children: dict[int | None, list[int]],
) -> AsyncIterator[str]:
    """One JSON document, written a message at a time; `children` (ids only) gives each one's siblings."""
    from app.schemas import ConversationOut, MessageOut

    head = ConversationOut.model_validate(conversation).model_dump(mode="json", exclude={"generating"})
    # Every node of the tree, with its parent: a tool reading the export sees every branch.
    head["active_message_id"] = active_id
    text = json.dumps(head, ensure_ascii=False)
    yield text[:-1] + ', "messages": ['
    separator = "\n  "
    index = SiblingIndex(children)
    async for message in messages:
        message.siblings = index.of(message.id, message.parent_id)
        yield separator + json.dumps(MessageOut.model_validate(message).model_dump(mode="json"), ensure_ascii=False)
        separator = ",\n  "
    yield "\n]}\n"
