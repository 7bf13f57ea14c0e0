"""Conversations and their messages: listing, search, paging, export, history for the model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, case, delete, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import DEFAULT_TITLE, Conversation, Message, MessageAttachment, Share, Siblings, Upload, User, utcnow
from app.services.attachments import attach_attachments
from app.services.storage import Storage
from app.services.tree import MAX_DEPTH, active_leaf, path_messages
from app.services.uploads import conversation_uploads


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def list_conversations(
    session: AsyncSession, user: User, *, limit: int, offset: int, query: str | None
) -> tuple[list[Conversation], int]:
    condition = Conversation.user_id == user.id
    if query:
        pattern = _like_pattern(query)
        in_messages = exists().where(
            Message.conversation_id == Conversation.id,
            func.lower(Message.content).like(pattern, escape="\\"),
        )
        condition = condition & or_(func.lower(Conversation.title).like(pattern, escape="\\"), in_messages)
    total = await session.scalar(select(func.count()).select_from(Conversation).where(condition)) or 0
    rows = await session.scalars(
        select(Conversation)
        .where(condition)
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


async def create_conversation(session: AsyncSession, user: User, title: str | None = None) -> Conversation:
    conversation = Conversation(user_id=user.id, title=title or DEFAULT_TITLE)
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
    session: AsyncSession,
    conversation_id: int,
    role: str,
    content: str,
    status: str,
    when: datetime,
    parent_id: int | None,
) -> Message:
    """Store one message under `parent_id` (already committed); a plain copy, not tracked by the session."""
    values = {
        "conversation_id": conversation_id,
        "parent_id": parent_id,
        "role": role,
        "content": content,
        "status": status,
        "created_at": when,
    }
    message_id = (await session.execute(_INSERT_MESSAGE, values)).scalar_one()
    return Message(id=message_id, **values)


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
    values: dict[str, Any] = {"updated_at": when or utcnow()}
    if active_id is not None:
        values["active_message_id"] = (
            active_id
            if if_active is None
            else case(
                # Unset: a new conversation, whose first reply becomes its leaf.
                (or_(Conversation.active_message_id.is_(None), Conversation.active_message_id == if_active), active_id),
                else_=Conversation.active_message_id,
            )
        )
    await session.execute(update(Conversation).where(Conversation.id == conversation_id).values(**values))


async def active_path(session: AsyncSession, conversation: Conversation) -> list[Message]:
    """The whole active path, root first, with its files (what the Markdown export and a share show)."""
    messages = await path_messages(session, conversation.id, await active_leaf(session, conversation), MAX_DEPTH)
    await attach_attachments(session, messages)
    return messages


def export_markdown(conversation: Conversation, messages: Sequence[Message]) -> str:
    lines = [f"# {conversation.title}", "", f"_{conversation.created_at.isoformat()}_", ""]
    for message in messages:
        who = "**You**" if message.role == "user" else "**Assistant**"
        note = " _(incomplete)_" if message.status == "incomplete" else ""
        lines += [f"{who}{note} — {message.created_at.isoformat()}", ""]
        if message.attachments:
            names = ", ".join(_markdown_name(upload.name) for upload in message.attachments)
            lines += [f"_Attachments: {names}_", ""]
        if message.content:
            lines += [message.content, ""]
    return "\n".join(lines)


def _markdown_name(name: str) -> str:
    """A file name as literal text: its own `*`, `_` or `[` must not turn into Markdown."""
    return "".join(f"\\{c}" if c in "\\`*_[]<>#|" else c for c in name)


def export_json(conversation: Conversation, messages: Sequence[Message]) -> str:
    from app.schemas import ConversationOut, MessageOut

    payload = ConversationOut.model_validate(conversation).model_dump(mode="json")
    # Every node of the tree, with its parent: a tool reading the export sees every branch.
    payload["active_message_id"] = conversation.active_message_id
    children: dict[int | None, list[int]] = {}
    for message in messages:
        children.setdefault(message.parent_id, []).append(message.id)
    for message in messages:
        message.siblings = Siblings.of(message.id, children[message.parent_id])
    payload["messages"] = [MessageOut.model_validate(m).model_dump(mode="json") for m in messages]
    return json.dumps(payload, ensure_ascii=False, indent=2)
