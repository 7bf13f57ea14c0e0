"""The chat flow: save the user's message, call the model, save the reply (streamed as events to a job).

The user's message is committed before the model is called, so it is never lost. Whatever the
model produced before a failure, a stop or a disconnect is saved as an `incomplete` reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import anyio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.errors import AppError
from app.core.writes import Returned, Write, commit_writes
from app.llm import LLMError, LLMInternalError, LLMService
from app.llm.types import ChatTurn, ReplySettings, Thought, TokenUsage
from app.models import DEFAULT_TITLE, Conversation, Message, Siblings, User, utcnow
from app.services.admissions import Admissions
from app.services.attachments import (
    attach,
    check_readable,
    claim_uploads,
    copy_attachments,
    history_with_files,
    read_files,
)
from app.services.chat_settings import new_conversation_settings, reply_settings
from app.services.conversations import (
    conversation_insert,
    conversation_touch,
    insert_conversation,
    insert_message,
    message_insert,
    message_of,
    question_of,
    question_under_answer_insert,
    title_update,
    touch_conversation,
    touched,
)
from app.services.errors import NothingToRegenerate, ServerStopping
from app.services.events import ChatEvent, Reasoning, TitleChanged, Token, TurnDone, TurnFailed, TurnStarted
from app.services.quotas import Quotas, check_quotas
from app.services.reply_draft import ReplyDraft
from app.services.runtime_settings import RuntimeSettings
from app.services.storage import Storage, storage_for
from app.services.tree import (
    MessageNotFound,
    NotAnAnswer,
    active_leaf,
    attach_siblings,
    child_ids,
    leaf_under,
    owned_message,
    path_turns,
)
from app.services.usage import count_turn, token_count, turn_count

logger = logging.getLogger("app.chat")
TITLE_WAIT_S = 10.0
STOPPED_MID_REPLY = "The server is restarting. The reply so far was saved; please try again in a moment."


@dataclass
class PreparedTurn:
    """What a reply needs once the user's side is safely stored."""

    conversation_id: int
    user_message: Message  # the question the reply answers (committed: the reply goes under it)
    history: list[ChatTurn]  # the active path up to the question, never a sibling branch
    needs_title: bool
    reply_siblings: tuple[int, ...] = ()  # answers the question already has (a regenerate)
    user_id: int | None = None  # whose usage the reply's and the title's tokens count in
    settings: ReplySettings = field(default_factory=ReplySettings)  # the conversation's model, persona, ...


@dataclass
class ChatService:
    sessionmaker: async_sessionmaker[AsyncSession]
    llm: LLMService
    settings: Settings
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)  # set on SIGTERM (app.core.shutdown)
    admissions: Admissions = field(init=False)
    runtime: RuntimeSettings | None = None  # sign-up and quotas changed at run time (built when not given)

    def __post_init__(self) -> None:
        self.admissions = Admissions(max_pause_s=self.settings.admission_max_pause_ms / 1000)
        if self.runtime is None:
            self.runtime = RuntimeSettings(self.sessionmaker, self.settings)

    @property
    def storage(self) -> Storage:
        return storage_for(self.settings)

    # -- before the model ---------------------------------------------------------------------
    def ensure_accepting(self) -> None:
        """Refuse new turns once the server is stopping, or when the model cannot take another now."""
        if self.stopping.is_set():
            raise ServerStopping()
        self.llm.ensure_capacity()

    async def quotas(self, session: AsyncSession) -> Quotas:
        assert self.runtime is not None
        return (await self.runtime.current(session)).quotas

    async def check_quota(self, session: AsyncSession, user: User) -> None:
        await check_quotas(session, user.id, await self.quotas(session))

    async def prepare_message(
        self,
        session: AsyncSession,
        user: User,
        conversation: Conversation | None,
        text: str,
        *,
        parent_id: int | None = None,
        parent_given: bool = False,
        attachment_ids: Sequence[int] = (),
        new_settings: dict[str, Any] | None = None,
    ) -> PreparedTurn:
        """Store the user's message (creating the conversation when needed) and load the history.

        Without `parent_given` the message goes under the active leaf; with it, under `parent_id`
        (an assistant message of the conversation, or None for a new first message): an edit.
        `attachment_ids` are the user's uploads sent with it (checked before anything is stored);
        `new_settings`: a new conversation's settings (default: the user's preferences).
        """
        if conversation is None:
            # Given (already checked), else from the user row: no query.
            values = new_settings or new_conversation_settings(user, self.llm.models())
            settings = reply_settings(values)
        else:
            settings = reply_settings(conversation)
        uploads = await claim_uploads(
            session,
            user.id,
            attachment_ids,
            vision=await self.llm.vision_for(settings.model) if attachment_ids else False,
            limit=self.settings.uploads_per_message,
        )
        now = utcnow()
        if conversation is None:
            if parent_given and parent_id is not None:
                raise MessageNotFound()  # a parent, but no conversation it could belong to
            if uploads:  # the claim's row count is checked (409): statement by statement
                conversation_id = await insert_conversation(session, user.id, now, values)
                message = await insert_message(session, conversation_id, "user", text, "complete", now, None)
                await attach(session, message.id, uploads)
                await count_turn(session, user.id)
                await session.commit()
            else:  # the hot path of a burst of new chats: one trip on SQLite (app.core.writes)
                question = message_insert(Returned(0), "user", text, "complete", now, None)
                writes = [conversation_insert(user.id, now, values), question, turn_count(session, user.id)]
                stored = await commit_writes(session, writes)
                assert stored is not None  # no write of these is `required`
                conversation_id = stored[0]
                message = message_of(question, stored[1], stored)
            message.attachments = uploads
            files = await read_files(self.storage, uploads) if uploads else ()
            # The active leaf is set when the reply is saved; until then the newest message is the leaf.
            history = [ChatTurn("user", text, files)]
            return PreparedTurn(conversation_id, message, history, needs_title=True, user_id=user.id, settings=settings)
        # The active leaf named as the parent (what the web app sends) is the usual turn: no sibling to read.
        edit = parent_given and (parent_id is None or parent_id != conversation.active_message_id)
        parent: int | None
        under_answer = parent_given and parent_id is not None
        if under_answer:
            # The parent is checked by the insert itself (an assistant message of this conversation),
            # so the usual turn costs no read of it; a question, even the active leaf waiting for its
            # reply, is never a parent.
            parent = parent_id
            question = question_under_answer_insert(conversation.id, text, now, cast(int, parent_id))
        else:
            # A new first message (parent_id null), or the pointer the services keep (no extra read on
            # the hot path), computed only when unset.
            parent = None if parent_given else conversation.active_message_id
            if parent is None and not parent_given:
                parent = await active_leaf(session, conversation)
            question = message_insert(conversation.id, "user", text, "complete", now, parent)
        before: tuple[list[tuple[int, ChatTurn]], list[int]] | None = None  # the history up to the parent
        if uploads:  # the claim's row count is checked (409): statement by statement
            message_id = (await session.execute(question.statement, question.values)).scalar_one_or_none()
            if message_id is not None:
                await attach(session, message_id, uploads)
                await touch_conversation(session, conversation.id, now, active_id=message_id)
                await count_turn(session, user.id)
                await session.commit()
        else:  # the usual turn: one trip on SQLite (app.core.writes)
            # Its history up to the parent is read first, on the connection the session already
            # holds (ancestors never change): the write is the turn's last trip, and no second
            # connection is checked out for the read.
            limit = self.settings.chat_history_max_messages - 1  # the question is the last one
            before = await path_turns(session, conversation.id, parent, limit) if parent is not None else ([], [])
            touch = conversation_touch(conversation.id, now, active_id=Returned(0))
            stored = await commit_writes(session, [question, touch, turn_count(session, user.id)])
            message_id = stored[0] if stored is not None else None
            if message_id is not None:
                touched(session, conversation.id, now, active_id=message_id, if_active=None)
        if message_id is None:  # only an insert under a named parent stores nothing (not an answer here)
            await owned_message(session, conversation, cast(int, parent_id))  # 404 when not of this conversation
            raise NotAnAnswer()
        message = question_of(question, message_id) if under_answer else message_of(question, message_id)
        if edit:  # the original question is a sibling
            message.siblings = Siblings.of(message.id, await child_ids(session, conversation.id, parent))
        if before is None:
            return await self._prepared(session, conversation, message)
        turns, with_files = before
        return await self._prepared_with(
            session, conversation, message, [*turns, (message.id, ChatTurn("user", text))], with_files
        )

    async def prepare_regenerate(
        self,
        session: AsyncSession,
        conversation: Conversation,
        new_text: str | None,
        message_id: int | None = None,
    ) -> PreparedTurn:
        """Answer a question again as a new sibling reply (nothing is deleted), or edit it first.

        `message_id`: an assistant message (answer its question again) or a user message; absent:
        the active leaf's question. With `new_text`, the question is edited: the new text becomes a
        sibling of the original question, and the reply goes under it.
        """
        if message_id is not None:
            target: Message | None = await owned_message(session, conversation, message_id)
        else:
            leaf = await active_leaf(session, conversation)
            target = await session.get(Message, leaf) if leaf is not None else None
        question = target
        if target is not None and target.role == "assistant":
            question = await session.get(Message, target.parent_id) if target.parent_id is not None else None
        if question is None or question.role != "user":
            raise NothingToRegenerate()
        # Its images go to the model again: refused before anything is stored when it cannot read them.
        await check_readable(session, question.id, vision=await self.llm.vision_for(reply_settings(conversation).model))
        now = utcnow()
        if new_text is not None:
            edited = await insert_message(
                session, conversation.id, "user", new_text, "complete", now, question.parent_id
            )
            await copy_attachments(session, question.id, edited.id)  # the edit keeps the question's files
            await touch_conversation(session, conversation.id, now, active_id=edited.id)
            await count_turn(session, conversation.user_id)
            await session.commit()
            edited.siblings = Siblings.of(edited.id, await child_ids(session, conversation.id, question.parent_id))
            return await self._prepared(session, conversation, edited)
        answers = await child_ids(session, conversation.id, question.id)
        # While the new reply is written, the active path ends at its question.
        await touch_conversation(session, conversation.id, now, active_id=question.id)
        await count_turn(session, conversation.user_id)  # a regenerate is a turn: it counts against the quota
        await session.commit()
        await attach_siblings(session, conversation.id, [question])
        return await self._prepared(session, conversation, question, reply_siblings=tuple(answers))

    async def _prepared(
        self,
        session: AsyncSession,
        conversation: Conversation,
        question: Message,
        reply_siblings: tuple[int, ...] = (),
    ) -> PreparedTurn:
        turns, with_files = await path_turns(
            session, conversation.id, question.id, self.settings.chat_history_max_messages
        )
        return await self._prepared_with(session, conversation, question, turns, with_files, reply_siblings)

    async def _prepared_with(
        self,
        session: AsyncSession,
        conversation: Conversation,
        question: Message,
        turns: list[tuple[int, ChatTurn]],
        with_files: list[int],
        reply_siblings: tuple[int, ...] = (),
    ) -> PreparedTurn:
        """The turn from its history (`turns`: the path ending at the question)."""
        history = [turn for _, turn in turns]
        if with_files:  # only a conversation with files pays for reading them
            history, question_files = await history_with_files(session, self.storage, turns, with_files)
            question.attachments = question_files
        # End the read transaction: the pooled connection must not stay checked out while the model answers.
        await session.commit()
        return PreparedTurn(
            conversation.id,
            question,
            history,
            conversation.title == DEFAULT_TITLE,
            reply_siblings=reply_siblings,
            user_id=conversation.user_id,
            settings=reply_settings(conversation),
        )

    # -- after the model ----------------------------------------------------------------------
    def reply_metadata(self, usage: TokenUsage, model: str | None = None) -> dict[str, Any]:
        """The columns a reply carries besides its text: who wrote it and what it cost."""
        return {
            "model": self.llm.resolve(model).id,
            "input_tokens": usage.prompt_tokens,
            "output_tokens": usage.completion_tokens,
            "reasoning_tokens": usage.reasoning_tokens or None,
            "tokens_estimated": usage.estimated,
        }

    async def save_reply(
        self,
        turn: PreparedTurn,
        text: str,
        status: str,
        usage: TokenUsage | None = None,
        draft: ReplyDraft | None = None,
    ) -> Message | None:
        """Store the reply under its question; it becomes the active leaf unless the person moved on."""
        question = turn.user_message
        metadata = self.reply_metadata(usage, turn.settings.model) if usage is not None else None
        if draft is not None and text:
            metadata = {**(metadata or {}), **draft.metadata(text)}
        async with self.sessionmaker() as session:
            now = utcnow()
            if not text:
                if turn.reply_siblings:  # a regenerate that produced nothing: back to the answers there were
                    leaf = await leaf_under(session, question.id)
                    await touch_conversation(session, turn.conversation_id, now, active_id=leaf, if_active=question.id)
                await self._count_reply_tokens(session, turn, usage)  # the tokens were spent, even for no text
                await session.commit()
                return None
            # One trip on SQLite (app.core.writes): the reply, the active leaf (unless the person
            # moved on) and its tokens.
            answer = message_insert(turn.conversation_id, "assistant", text, status, now, question.id, metadata)
            touch = conversation_touch(turn.conversation_id, now, active_id=Returned(0), if_active=question.id)
            tokens = self._reply_tokens(session, turn, usage)
            stored = await commit_writes(session, [answer, touch] if tokens is None else [answer, touch, tokens])
            assert stored is not None  # no write of these is `required`
            reply = message_of(answer, stored[0])
        reply.siblings = Siblings.of(reply.id, (*turn.reply_siblings, reply.id))
        return reply

    @staticmethod
    async def _count_reply_tokens(session: AsyncSession, turn: PreparedTurn, usage: TokenUsage | None) -> None:
        # After the conversation's row, as every transaction here: one lock order, no deadlock.
        write = ChatService._reply_tokens(session, turn, usage)
        if write is not None:
            await session.execute(write.statement, write.values)

    @staticmethod
    def _reply_tokens(session: AsyncSession, turn: PreparedTurn, usage: TokenUsage | None) -> Write | None:
        if usage is None or turn.user_id is None:
            return None
        return token_count(session, turn.user_id, usage.prompt_tokens, usage.completion_tokens)

    async def save_title(
        self, conversation_id: int, user_text: str, reply_text: str, user_id: int | None = None
    ) -> str | None:
        spent = TokenUsage()
        title = await self.llm.generate_title(user_text, reply_text, usage=spent)
        async with self.sessionmaker() as session:
            # One statement: the person may have renamed (their title wins) or deleted it meanwhile.
            writes = [title_update(conversation_id, title)]
            if user_id is not None:  # title tokens count against the user, apart from the replies'
                tokens = token_count(session, user_id, spent.prompt_tokens, spent.completion_tokens, title=True)
                writes += [tokens] if tokens is not None else []
            stored = await commit_writes(session, writes)  # one trip on SQLite (app.core.writes)
        return title if stored is not None and stored[0] is not None else None

    def start_title(self, turn: PreparedTurn, reply_text: str) -> asyncio.Task[str | None] | None:
        if not turn.needs_title or not reply_text:
            return None
        task = asyncio.create_task(
            self.save_title(turn.conversation_id, turn.user_message.content, reply_text, turn.user_id)
        )
        self.background.add(task)  # keep a reference until done, or the task may be collected
        task.add_done_callback(self.background.discard)
        return task

    # -- the answer --------------------------------------------------------------------------
    async def stream(self, turn: PreparedTurn) -> AsyncGenerator[ChatEvent, None]:
        """The reply as events: started, token*, then done (+ title) or failed."""
        yield TurnStarted(turn.conversation_id, turn.user_message)
        parts: list[str] = []
        error: AppError | None = None
        saved: Message | None = None
        finished = False
        usage = TokenUsage()
        draft = ReplyDraft()
        try:
            replying = self.llm.stream_parts(turn.history, usage=usage, reply=turn.settings, extras=draft.extras)
            async with contextlib.aclosing(replying) as deltas:
                async for delta in deltas:
                    if self.stopping.is_set():
                        raise ServerStopping(STOPPED_MID_REPLY)
                    if isinstance(delta, Thought):  # a piece of the thought summary, kept apart
                        draft.thought(delta.text)
                        yield Reasoning(delta.text)
                        continue
                    if draft.thinking:
                        draft.answer_started()
                    parts.append(delta)
                    yield Token(delta)
                    # The first token is part of admission; later ones wait for the requests being admitted.
                    await self.admissions.wait_turn()
            finished = True
        except AppError as exc:
            error = exc
        except Exception:  # anything unexpected still ends the stream with a clear event
            logger.exception("chat stream failed")
            error = LLMInternalError()
        finally:
            # Runs on success, on error and when the reader goes away (cancelled or closed): the
            # partial text must reach the database even while this task is being cancelled.
            status = "complete" if finished else "incomplete"
            with anyio.CancelScope(shield=True):
                saved = await self.save_reply(turn, "".join(parts), status, usage, draft)
        if error is not None:
            yield TurnFailed(error, saved)
            return
        if saved is None:
            yield TurnFailed(LLMError("The AI model returned an empty answer. Please try again."), None)
            return
        yield TurnDone(saved)
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
            yield TitleChanged(turn.conversation_id, title)
