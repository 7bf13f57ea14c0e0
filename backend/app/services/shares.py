"""Share links: a read-only snapshot of a conversation, public under an unguessable id."""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Conversation, Share, User, utcnow
from app.services.conversations import active_path, insert_conversation, insert_message

SHARE_ID_BYTES = 16  # 128 bits of randomness, 22 URL-safe characters
SHARE_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{22}")
NEVER_ISSUED = "~" * 22  # "~" is not in the URL-safe alphabet


def new_share_id() -> str:
    return secrets.token_urlsafe(SHARE_ID_BYTES)


async def messages_for_share(session: AsyncSession, conversation: Conversation) -> list[dict[str, Any]]:
    """The messages a share shows, as plain JSON (role, content, created_at): the one place that picks them.

    The active branch only (what the person sees), never a sibling version.
    """
    return [
        {"role": message.role, "content": message.content, "created_at": message.created_at.isoformat()}
        for message in await active_path(session, conversation)
        if message.content
    ]


async def share_conversation(session: AsyncSession, conversation: Conversation) -> Share:
    """Snapshot the conversation now: a new link, or the same link with its snapshot replaced."""
    messages = await messages_for_share(session, conversation)
    now = utcnow()
    for _ in range(2):  # a concurrent first share of the same conversation: the second one updates
        share = await session.scalar(select(Share).where(Share.conversation_id == conversation.id))
        if share is None:
            share = Share(
                id=new_share_id(),
                user_id=conversation.user_id,
                conversation_id=conversation.id,
                created_at=now,
            )
            session.add(share)
        share.title = conversation.title
        share.messages = messages
        share.updated_at = now
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
            continue
        return share
    raise RuntimeError("could not store the share")  # pragma: no cover - two lost races in a row


async def list_shares(session: AsyncSession, user: User) -> list[tuple[Share, str]]:
    """The user's links with their conversation's current title, newest first."""
    rows = await session.execute(
        select(Share, Conversation.title)
        .join(Conversation, Conversation.id == Share.conversation_id)
        .where(Share.user_id == user.id)
        .order_by(Share.updated_at.desc(), Share.id)
    )
    return [(share, title) for share, title in rows]


async def get_owned_share(session: AsyncSession, user: User, share_id: str) -> Share | None:
    share = await find_share(session, share_id)
    return share if share is not None and share.user_id == user.id else None


async def find_share(session: AsyncSession, share_id: str) -> Share | None:
    """The share with this id, or None; a malformed id costs the same lookup as an unknown one."""
    return await session.get(Share, share_id if SHARE_ID_PATTERN.fullmatch(share_id) else NEVER_ISSUED)


async def delete_share(session: AsyncSession, share: Share) -> None:
    await session.delete(share)
    await session.commit()


async def continue_share(session: AsyncSession, user: User, share: Share) -> Conversation:
    """Copy the snapshot into a new conversation of `user` (the reader), who can go on from there."""
    now = utcnow()
    conversation_id = await insert_conversation(session, user.id, now)
    parent: int | None = None
    for message in share.messages:  # a chain, in order: the copy's active path is the snapshot
        role, content = str(message["role"]), str(message["content"])
        parent = (await insert_message(session, conversation_id, role, content, "complete", now, parent)).id
    conversation = await session.get(Conversation, conversation_id)
    assert conversation is not None
    conversation.title = share.title
    conversation.active_message_id = parent
    await session.commit()
    return conversation
