"""ORM tables: users, conversations, messages, share links, personal API keys and uploads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MessageRole = Literal["user", "assistant"]
MessageStatus = Literal["complete", "incomplete"]
DEFAULT_TITLE = "New chat"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - ids are never reused after a delete

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    hashed_password: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    # Bumped on password change or disable: tokens carrying an older version are refused.
    token_version: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # Defaults for new conversations and the web app's language and theme (GET/PUT /api/me/preferences).
    preferences: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_user_updated", "user_id", "updated_at"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False, default=DEFAULT_TITLE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # The leaf of the branch the person is looking at (no foreign key: the services keep it pointing
    # at a message of this conversation, and a reader falls back to the newest leaf if it does not).
    active_message_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # The chat settings every turn uses (migration 0010), read from this row, already loaded per turn.
    model: Mapped[str | None] = mapped_column(String(100), nullable=True)  # None: the server's default
    system_prompt: Mapped[str | None] = mapped_column(Text, nullable=True)  # None: SYSTEM_PROMPT
    temperature: Mapped[float | None] = mapped_column(Float, nullable=True)
    web_search: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    thinking: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        Index("ix_messages_parent_id", "parent_id"),
        Index("ix_messages_conversation_parent", "conversation_id", "parent_id"),
        Index("ix_messages_created_at", "created_at"),  # the admin's usage report over a date range
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False)
    # Null for a first message; always a message of the same conversation, inserted before this one
    # (so ids grow from root to leaf). Migration 0002 enforces both in the database.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), nullable=True)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="complete")
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, server_default=func.current_timestamp(), nullable=False
    )
    # Reply metadata (migration 0009), set on assistant messages only: the model that wrote it,
    # its token counts (the provider's, or an estimate when `tokens_estimated`), the thought
    # summary kept apart from `content` (never sent back to the model), and search grounding.
    model: Mapped[str | None] = mapped_column(String(100), nullable=True)
    input_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    output_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reasoning_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tokens_estimated: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    reasoning: Mapped[str | None] = mapped_column(Text, nullable=True)
    reasoning_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    grounding: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    @property
    def sources(self) -> list[dict[str, str]]:
        """The web pages a grounded reply cites, [{title, url}], in citation order."""
        return list((self.grounding or {}).get("sources") or [])

    @property
    def citations(self) -> list[dict[str, Any]]:
        """Spans of `content` ([{start, end, sources}], character offsets) and the sources they cite."""
        return list((self.grounding or {}).get("supports") or [])

    @property
    def search_entry_point(self) -> str | None:
        """Google's rendered search suggestions (HTML, to be shown sandboxed), for a grounded reply."""
        value = (self.grounding or {}).get("search_entry_point")
        return str(value) if value else None

    @property
    def siblings(self) -> Siblings:
        """The messages with the same parent (this one included), when a reader looked them up."""
        known: Siblings | None = self.__dict__.get("_siblings")
        return known if known is not None else Siblings((self.id,), 0)

    @siblings.setter
    def siblings(self, value: Siblings) -> None:
        self.__dict__["_siblings"] = value

    @property
    def attachments(self) -> tuple[Upload, ...]:
        """The files sent with this message, in order, when a reader looked them up (else none)."""
        known: tuple[Upload, ...] | None = self.__dict__.get("_attachments")
        return known if known is not None else ()

    @attachments.setter
    def attachments(self, value: Sequence[Upload]) -> None:
        self.__dict__["_attachments"] = tuple(value)


class UsageDay(Base):
    """What one user used on one UTC day: read in one row by the quota check and the usage line."""

    __tablename__ = "usage_days"
    __table_args__ = (Index("ix_usage_days_day", "day"),)  # the admin's report over a range of days

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    messages: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # turns: sent, edited, regenerated
    # Tokens of the replies (migration 0012), and of title generation apart (both count for the token quota).
    input_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    output_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    title_input_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    title_output_tokens: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")


class AppSetting(Base):
    """A setting changed at run time by an administrator (migration 0013); it overrides the environment."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_by: Mapped[str | None] = mapped_column(String(320), nullable=True)  # the admin's email


@dataclass(frozen=True, slots=True)
class Siblings:
    """Ids of every message with the same parent in the conversation, oldest first, and this one's index."""

    ids: tuple[int, ...]
    index: int

    @classmethod
    def of(cls, message_id: int, ids: Sequence[int]) -> Siblings:
        ordered = tuple(sorted(ids))
        return cls(ordered, ordered.index(message_id))


class SiblingIndex:
    """`Siblings` for many messages from one `{parent_id: [child ids]}` map.

    Each parent's children are sorted once and positions come from a dict, so a page or an export
    where one question has thousands of regenerated replies stays linear (Siblings.of per message
    sorted the whole list each time). The map may hold only the parents with several children: a
    message whose parent is not in it is its own only sibling, and nothing is kept for it (an
    export of 50,000 messages in one line kept 30 MB of one-child entries).
    """

    __slots__ = ("_children", "_sorted")

    def __init__(self, children: Mapping[int | None, Sequence[int]]) -> None:
        self._children = children
        self._sorted: dict[int | None, tuple[tuple[int, ...], dict[int, int]]] = {}

    def of(self, message_id: int, parent_id: int | None) -> Siblings:
        entry = self._sorted.get(parent_id)
        if entry is None:
            children = self._children.get(parent_id)
            if not children:
                return Siblings((message_id,), 0)
            ids = tuple(sorted(children))
            entry = self._sorted[parent_id] = (ids, {child: i for i, child in enumerate(ids)})
        ids, positions = entry
        index = positions.get(message_id)
        return Siblings((message_id,), 0) if index is None else Siblings(ids, index)


class Share(Base):
    """A public, read-only snapshot of a conversation under an unguessable id (one link per conversation)."""

    __tablename__ = "shares"
    __table_args__ = (
        UniqueConstraint("conversation_id", name="uq_shares_conversation_id"),
        Index("ix_shares_user_id", "user_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    # [{"role", "content", "created_at"}]: a copy, so later messages never show until the link is refreshed.
    messages: Mapped[list[dict[str, str]]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ApiKey(Base):
    """A personal API key: only its SHA-256 hash is stored, and a short prefix to recognise it."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_user_id", "user_id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Upload(Base):
    """A file a user uploaded; `message_id` is set once it is sent in a message (NULL: not yet, or its
    message is gone; either way the cleanup removes it after UPLOADS_UNATTACHED_HOURS)."""

    __tablename__ = "uploads"
    __table_args__ = (
        Index("ix_uploads_user_id", "user_id"),
        Index("ix_uploads_message_id", "message_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"), nullable=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    mime_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    storage_key: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    page_count: Mapped[int | None] = mapped_column(Integer, nullable=True)  # PDFs
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class MessageAttachment(Base):
    """A file shown with a message and sent to the model in its turn.

    One upload may belong to several messages of its conversation: an edited question keeps the
    original's files without copying their bytes (nor counting them twice against the quota).
    `Upload.message_id` stays the message it was first sent in, which marks it as attached.
    """

    __tablename__ = "message_attachments"
    __table_args__ = (Index("ix_message_attachments_upload_id", "upload_id"),)

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")


class Preset(Base):
    """A persona: a named system prompt, and optionally the model, temperature, search and thinking
    a chat started from it gets; `shared` (set by an administrator) shows it to every user."""

    __tablename__ = "presets"
    __table_args__ = (
        Index("ix_presets_user_id", "user_id"),
        Index("ix_presets_shared", "shared"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    system_prompt: Mapped[str] = mapped_column(Text, nullable=False)
    model: Mapped[str | None] = mapped_column(String(100), nullable=True)
    temperature: Mapped[float | None] = mapped_column(Float, nullable=True)
    web_search: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    thinking: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    shared: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


__all__ = [
    "DEFAULT_TITLE",
    "ApiKey",
    "AppSetting",
    "Base",
    "Conversation",
    "Message",
    "MessageAttachment",
    "MessageRole",
    "MessageStatus",
    "Preset",
    "Share",
    "Siblings",
    "Upload",
    "UsageDay",
    "User",
    "utcnow",
]
