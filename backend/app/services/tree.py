"""Conversation trees: the active path, siblings, switching branches and deleting one.

Every message has a parent in its conversation (null for a first message) and is inserted after
it, so ids grow from the root to each leaf and a path read by walking up, sorted by id, is in
order. Reading a path is a recursive walk up from one message, bounded by the number of messages
wanted: its cost depends on the page or history size, never on how big the tree is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Select, Table, bindparam, delete, exists, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import AppError
from app.llm.types import ChatTurn
from app.models import Conversation, Message, MessageAttachment, SiblingIndex, Upload
from app.services.attachments import attach_attachments
from app.services.storage import Storage

_MESSAGES = cast(Table, Message.__table__)
TreeNode = Row[int, int | None, str, str, datetime]  # id, parent_id, role, status, created_at
# A walk down (newest child at each step) stops here at the latest: no real conversation is deeper.
MAX_DEPTH = 1_000_000


class MessageNotFound(AppError):
    code = "not_found"
    status_code = 404
    default_message = "Message not found"


class NotAnAnswer(AppError):
    code = "invalid_parent"
    status_code = 422
    default_message = "parent_id must be an assistant message (or null for a new first message)."


class OnlyRoot(AppError):
    code = "only_root"
    status_code = 409
    default_message = "This is the conversation's only first message: delete the conversation instead."


def _ancestors(start: Any, conversation_id: Any, count: Any) -> Any:
    """A recursive CTE of `start` and up to `count - 1` of its ancestors: (id, parent_id, depth).

    The arguments are values or bind parameters (`_PATH`, the one the reads use)."""
    m = _MESSAGES
    base = (
        select(m.c.id, m.c.parent_id, literal(1).label("depth"))
        .where(m.c.id == start, m.c.conversation_id == conversation_id)
        .cte("path", recursive=True)
    )
    parent = m.alias("parent")
    step = (
        select(parent.c.id, parent.c.parent_id, (base.c.depth + 1).label("depth"))
        .join(base, parent.c.id == base.c.parent_id)
        .where(base.c.depth < count)
    )
    return base.union_all(step)


# The path reads, built once with their values as parameters: building the recursive CTE and its
# cache key took ~0.47 ms of CPU per call, about a tenth of a chat turn's admission (profile_turn.py).
_PATH = _ancestors(bindparam("path_end"), bindparam("path_conversation"), bindparam("path_count"))
_PATH_MESSAGES = select(Message).join(_PATH, Message.id == _PATH.c.id).order_by(Message.id)
_PATH_IDS = select(_PATH.c.id)
_PATH_TURNS = (
    select(
        Message.id,
        Message.role,
        Message.content,
        exists().where(MessageAttachment.message_id == Message.id).label("has_files"),
    )
    .join(_PATH, Message.id == _PATH.c.id)
    .order_by(Message.id)
)


def _path_params(conversation_id: int, end_id: int, count: int) -> dict[str, int]:
    return {"path_end": end_id, "path_conversation": conversation_id, "path_count": count}


async def path_messages(session: AsyncSession, conversation_id: int, end_id: int | None, count: int) -> list[Message]:
    """`end_id` and up to `count - 1` of its ancestors, oldest first."""
    if end_id is None or count <= 0:
        return []
    return list(await session.scalars(_PATH_MESSAGES, _path_params(conversation_id, end_id, count)))


async def path_ids(session: AsyncSession, conversation_id: int, end_id: int | None) -> list[int]:
    """Ids of `end_id` and all its ancestors, root first (ints only: cheap to hold for a long path)."""
    if end_id is None:
        return []
    return sorted(int(i) for i in await session.scalars(_PATH_IDS, _path_params(conversation_id, end_id, MAX_DEPTH)))


async def active_leaf(session: AsyncSession, conversation: Conversation) -> int | None:
    """The leaf the person looks at; the newest message if the pointer is missing or stale."""
    if conversation.active_message_id is not None:
        exists = await session.scalar(
            select(Message.id).where(
                Message.id == conversation.active_message_id, Message.conversation_id == conversation.id
            )
        )
        if exists is not None:
            return conversation.active_message_id
    newest = await session.scalar(select(func.max(Message.id)).where(Message.conversation_id == conversation.id))
    return await leaf_under(session, newest) if newest is not None else None


async def active_page(
    session: AsyncSession, conversation: Conversation, *, limit: int, before_id: int | None
) -> tuple[list[Message], bool]:
    """A page of the active path (root -> active leaf), oldest first; `before_id` pages back along it."""
    if before_id is None:
        end = await active_leaf(session, conversation)
    else:
        end = await session.scalar(
            select(Message.parent_id).where(Message.id == before_id, Message.conversation_id == conversation.id)
        )
    rows = await path_messages(session, conversation.id, end, limit + 1)
    has_more = len(rows) > limit
    page = rows[-limit:] if has_more else rows
    await attach_siblings(session, conversation.id, page)
    await attach_attachments(session, page)
    return page, has_more


async def path_history(session: AsyncSession, conversation_id: int, end_id: int, max_messages: int) -> list[ChatTurn]:
    """The turns the model sees: `end_id` and its ancestors, never a sibling branch; oldest first."""
    turns, _ = await path_turns(session, conversation_id, end_id, max_messages)
    return [turn for _, turn in turns]


async def path_turns(
    session: AsyncSession, conversation_id: int, end_id: int, max_messages: int
) -> tuple[list[tuple[int, ChatTurn]], list[int]]:
    """(message id, turn) along the path, oldest first, and the ids of the messages with files.

    Whether a message has files comes in the same query: a conversation without any costs no more.
    """
    rows = await session.execute(_PATH_TURNS, _path_params(conversation_id, end_id, max_messages))
    turns: list[tuple[int, ChatTurn]] = []
    with_files: list[int] = []
    for message_id, role, content, files in rows:
        if content or files:  # a message may be only its files
            turns.append((message_id, ChatTurn(role, content)))  # type: ignore[arg-type]
        if files:
            with_files.append(message_id)
    return turns, with_files


def _children_of(conversation_id: int, parent_ids: Iterable[int | None]) -> Select[int, int | None]:
    parents = set(parent_ids)
    real = [p for p in parents if p is not None]
    conditions = []
    if real:
        conditions.append(Message.parent_id.in_(real))
    if None in parents:
        conditions.append(Message.parent_id.is_(None))
    condition = conditions[0] if len(conditions) == 1 else conditions[0] | conditions[1]
    return select(Message.id, Message.parent_id).where(Message.conversation_id == conversation_id, condition)


async def attach_siblings(session: AsyncSession, conversation_id: int, messages: Sequence[Message]) -> None:
    """Fill `message.siblings` for a page with one query."""
    if not messages:
        return
    children: dict[int | None, list[int]] = defaultdict(list)
    for child_id, parent_id in await session.execute(_children_of(conversation_id, (m.parent_id for m in messages))):
        children[parent_id].append(child_id)
    index = SiblingIndex(children)
    for message in messages:
        message.siblings = index.of(message.id, message.parent_id)


async def child_ids(session: AsyncSession, conversation_id: int, parent_id: int | None) -> list[int]:
    rows = await session.execute(_children_of(conversation_id, [parent_id]))
    return sorted(child_id for child_id, _ in rows)


async def leaf_under(session: AsyncSession, message_id: int) -> int:
    """The leaf reached from `message_id` by following the newest child (highest id) at each step."""
    m = _MESSAGES
    down = select(literal(message_id).label("id"), literal(0).label("depth")).cte("down", recursive=True)
    child = m.alias("child")
    newest_child = select(func.max(child.c.id)).where(child.c.parent_id == down.c.id).scalar_subquery()
    step = select(newest_child.label("id"), (down.c.depth + 1).label("depth")).where(
        down.c.id.is_not(None), down.c.depth < MAX_DEPTH
    )
    walk = down.union_all(step)
    leaf = await session.scalar(select(walk.c.id).where(walk.c.id.is_not(None)).order_by(walk.c.depth.desc()).limit(1))
    return int(leaf) if leaf is not None else message_id


async def owned_message(session: AsyncSession, conversation: Conversation, message_id: int) -> Message:
    message = await session.get(Message, message_id)
    if message is None or message.conversation_id != conversation.id:
        raise MessageNotFound()
    return message


async def set_active(session: AsyncSession, conversation: Conversation, message_id: int) -> int:
    """Show the branch through `message_id` (its newest leaf); persisted for every browser and instance."""
    await owned_message(session, conversation, message_id)
    leaf = await leaf_under(session, message_id)
    conversation.active_message_id = leaf
    await session.commit()
    return leaf


async def _is_on_path(session: AsyncSession, conversation_id: int, ancestor_id: int, leaf_id: int | None) -> bool:
    if leaf_id is None:
        return False
    path = _ancestors(leaf_id, conversation_id, MAX_DEPTH)
    return await session.scalar(select(path.c.id).where(path.c.id == ancestor_id)) is not None


async def delete_branch(session: AsyncSession, conversation: Conversation, message_id: int, storage: Storage) -> None:
    """Remove a message and everything below it, and the files only they carried; the active leaf
    moves to a surviving branch if needed."""
    target = await owned_message(session, conversation, message_id)
    siblings = [i for i in await child_ids(session, conversation.id, target.parent_id) if i != target.id]
    if target.parent_id is None and not siblings:
        raise OnlyRoot()
    active = await active_leaf(session, conversation)
    moves = await _is_on_path(session, conversation.id, target.id, active)
    m = _MESSAGES
    below = select(m.c.id).where(m.c.id == target.id).cte("below", recursive=True)
    child = m.alias("child")
    below = below.union_all(select(child.c.id).join(below, child.c.parent_id == below.c.id))
    subtree = select(below.c.id)
    keys = await _release_files(session, subtree)
    # Explicit, not only the foreign key's cascade: a SQLite file opened without the pragma still loses it all.
    await session.execute(delete(MessageAttachment).where(MessageAttachment.message_id.in_(subtree)))
    await session.execute(delete(Message).where(Message.id.in_(subtree)))
    if moves:
        # The nearest older sibling's branch, else the newest one, else the parent itself.
        older = [i for i in siblings if i < target.id]
        if siblings:
            conversation.active_message_id = await leaf_under(session, older[-1] if older else siblings[-1])
        else:
            conversation.active_message_id = target.parent_id
    await session.commit()
    # After the commit: a file whose delete fails is an orphan the cleanup sweeps, never a row without its file.
    await storage.delete(keys)


async def _release_files(session: AsyncSession, subtree: Any) -> list[str]:
    """Before a subtree is deleted: its files that no other message links are deleted (their keys
    are returned, to remove from the storage after the commit); the others move to a surviving message."""
    uploads = list(
        await session.scalars(
            select(Upload).where(
                Upload.id.in_(select(MessageAttachment.upload_id).where(MessageAttachment.message_id.in_(subtree)))
            )
        )
    )
    if not uploads:
        return []
    survivors: dict[int, int] = {}
    for upload_id, other in await session.execute(
        select(MessageAttachment.upload_id, func.min(MessageAttachment.message_id))
        .where(
            MessageAttachment.upload_id.in_([upload.id for upload in uploads]),
            MessageAttachment.message_id.not_in(subtree),
        )
        .group_by(MessageAttachment.upload_id)
    ):
        survivors[upload_id] = other
    gone = [upload for upload in uploads if upload.id not in survivors]
    for upload_id, other in survivors.items():
        await session.execute(update(Upload).where(Upload.id == upload_id).values(message_id=other))
    if gone:
        await session.execute(delete(Upload).where(Upload.id.in_([upload.id for upload in gone])))
    return [upload.storage_key for upload in gone]


async def tree_page(
    session: AsyncSession, conversation: Conversation, *, limit: int, after_id: int | None
) -> tuple[list[TreeNode], bool]:
    """Every node without content, by id, `limit` at a time (the text is not even read: a page of
    thousands of long replies costs what their ids and roles cost)."""
    statement = select(Message.id, Message.parent_id, Message.role, Message.status, Message.created_at).where(
        Message.conversation_id == conversation.id
    )
    if after_id is not None:
        statement = statement.where(Message.id > after_id)
    rows = list(await session.execute(statement.order_by(Message.id).limit(limit + 1)))
    return rows[:limit], len(rows) > limit
