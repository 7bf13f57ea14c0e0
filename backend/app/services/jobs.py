"""Replies as jobs the server owns: a reply outlives the connection that asked for it.

`ChatService.stream` is run by a task of this registry, not by the HTTP request. Every event it
yields is appended to the job's log and each reader (the POST that started it, any number of
`GET /api/conversations/{id}/stream`) is woken to send what it has not sent yet: per token one
list append and one wake-up per reader, nothing else. A reader that joins late gets one
`ReplySync` with the text so far and then follows the log from that point; both happen with no
await in between, so it sees every token exactly once. A reader that leaves changes nothing for
the job; `stop()` (the Stop button, from any connection) cancels it and the partial reply is
saved `incomplete` by `ChatService.stream` itself, as on a failure.

When the reply is saved (its `done` or `error` event), the job leaves the registry: the
conversation is no longer `generating` and the log is dropped with the last reader. The jobs of
one user are bounded by `max_per_user`; a conversation has one job at a time.

This is the single-instance registry; `app.services.jobs_redis` extends it for several instances.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.llm import LLMInternalError
from app.models import Message
from app.services.chat import PreparedTurn
from app.services.errors import ReplyInProgress, ReplyStopped, TooManyReplies
from app.services.events import ChatEvent, Reasoning, RelayedEvent, ReplySync, Token, TurnDone, TurnFailed

logger = logging.getLogger("app.jobs")
STOP_WAIT_S = 10.0  # POST .../stop answers once the partial reply is saved, or after this long

ReaderEvent = ChatEvent | ReplySync | RelayedEvent


class Reader:
    """One follower of a job: the future it waits on while it has sent everything (a bare future
    per wait is the cheapest wake-up asyncio has; this runs once per token per reader)."""

    __slots__ = ("waiter",)

    def __init__(self) -> None:
        self.waiter: asyncio.Future[None] | None = None


class Job:
    """One reply being generated: the log of its events and the readers following it."""

    __slots__ = ("conversation_id", "ended", "log", "readers", "scope", "task", "turn", "user_id")

    def __init__(self, user_id: int, turn: PreparedTurn) -> None:
        self.user_id = user_id
        self.conversation_id = turn.conversation_id
        self.turn = turn
        self.log: list[ReaderEvent] = []
        self.readers: set[Reader] = set()
        self.ended = False  # no event will be appended any more
        self.scope = anyio.CancelScope()
        self.task: asyncio.Task[None] | None = None

    def publish(self, event: ReaderEvent) -> None:
        self.log.append(event)
        for reader in self.readers:
            waiter = reader.waiter
            if waiter is not None:
                reader.waiter = None
                if not waiter.done():
                    waiter.set_result(None)

    def end(self) -> None:
        self.ended = True
        for reader in self.readers:
            if reader.waiter is not None and not reader.waiter.done():
                reader.waiter.set_result(None)

    def text_so_far(self, upto: int) -> str:
        return "".join([event.text for event in self.log[:upto] if type(event) is Token])

    def reasoning_so_far(self, upto: int) -> str | None:
        """The thought summary so far (None when the model has not thought aloud)."""
        parts = [event.text for event in self.log[:upto] if type(event) is Reasoning]
        return "".join(parts) if parts else None

    def follow(self, start: int, first: ReaderEvent | None = None) -> AsyncGenerator[ReaderEvent, None]:
        """The log from `start` on, as one reader; registered now (not at the first iteration)."""
        reader = Reader()
        self.readers.add(reader)
        return self._read(reader, start, first)

    async def _read(self, reader: Reader, cursor: int, first: ReaderEvent | None) -> AsyncGenerator[ReaderEvent, None]:
        log = self.log
        loop = asyncio.get_running_loop()
        try:
            if first is not None:
                yield first
            while True:
                while cursor < len(log):
                    cursor += 1
                    yield log[cursor - 1]
                if self.ended:
                    return
                waiter = reader.waiter = loop.create_future()
                await waiter
        finally:
            self.readers.discard(reader)


@dataclass
class JobSlot:
    """A place for one more reply of a user, held from before the question is stored until the job ends."""

    registry: JobRegistry
    user_id: int
    conversation_id: int | None
    started: bool = False  # a job holds it now, and releases it when the reply is saved
    released: bool = False
    token: str = ""  # the Redis registry's name for the slot

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.registry._release(self)


@dataclass
class JobRegistry:
    """The replies being generated by this process, by conversation."""

    sessionmaker: async_sessionmaker[AsyncSession]
    background: set[asyncio.Task[Any]]  # the chat service's: the lifespan waits for them at shutdown
    max_per_user: int = 3
    jobs: dict[int, Job] = field(default_factory=dict)
    slots: dict[int, int] = field(default_factory=dict)  # user id -> slots held (reserved or running)
    reserved_conversations: set[int] = field(default_factory=set)

    async def open(self) -> None:
        """At start-up (the Redis registry connects here)."""

    async def close(self) -> None:
        """At shutdown, once the jobs ended."""

    # -- admission -------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def reserve(self, user_id: int, conversation_id: int | None) -> AsyncIterator[JobSlot]:
        """Hold a slot for a reply (429 past `max_per_user`, 409 while the conversation has one);
        released on the way out unless `start()` handed it to a job."""
        slot = await self._reserve(user_id, conversation_id)
        try:
            yield slot
        finally:
            if not slot.started:
                slot.release()

    async def _reserve(self, user_id: int, conversation_id: int | None) -> JobSlot:
        if conversation_id is not None and (
            conversation_id in self.jobs or conversation_id in self.reserved_conversations
        ):
            raise ReplyInProgress()
        if self.slots.get(user_id, 0) >= self.max_per_user:
            raise TooManyReplies()
        self.slots[user_id] = self.slots.get(user_id, 0) + 1
        if conversation_id is not None:
            self.reserved_conversations.add(conversation_id)
        return JobSlot(self, user_id, conversation_id)

    def _release(self, slot: JobSlot) -> None:
        held = self.slots.get(slot.user_id, 0) - 1
        if held > 0:
            self.slots[slot.user_id] = held
        else:
            self.slots.pop(slot.user_id, None)
        if slot.conversation_id is not None:
            self.reserved_conversations.discard(slot.conversation_id)

    # -- the job -----------------------------------------------------------------------------------
    def start(
        self, slot: JobSlot, turn: PreparedTurn, events: Callable[[PreparedTurn], AsyncGenerator[ChatEvent, None]]
    ) -> AsyncGenerator[ReaderEvent, None]:
        """Run `events(turn)` as a job of the registry; returns the first reader (from the first event)."""
        if slot.conversation_id is not None and slot.conversation_id != turn.conversation_id:
            raise ValueError("the slot was reserved for another conversation")
        self.reserved_conversations.discard(turn.conversation_id)
        slot.conversation_id, slot.started = turn.conversation_id, True
        job = Job(slot.user_id, turn)
        self.jobs[turn.conversation_id] = job
        reader = job.follow(0)
        job.task = asyncio.create_task(self._run(job, slot, events(turn)))
        self.background.add(job.task)
        job.task.add_done_callback(self.background.discard)
        self._started(job, slot)
        return reader

    async def _run(self, job: Job, slot: JobSlot, events: AsyncGenerator[ChatEvent, None]) -> None:
        ended_with: ChatEvent | None = None
        try:
            with job.scope:
                async for event in events:
                    job.publish(event)
                    if type(event) is TurnDone or type(event) is TurnFailed:
                        ended_with = event
                        self._finished(job, slot)  # saved: no longer generating (a title may follow)
            if ended_with is None:  # stopped (cancelled): ChatService.stream saved the partial reply
                self._finished(job, slot)
                job.publish(TurnFailed(ReplyStopped(), await self.saved_reply(job.turn)))
        except Exception:
            logger.exception("reply job failed")
            if ended_with is None:
                job.publish(TurnFailed(LLMInternalError(), None))
        finally:
            with anyio.CancelScope(shield=True):  # a stop cancels the job: the reply must still be saved
                await events.aclose()
            self._finished(job, slot)
            job.end()
            self._ended(job)

    def _finished(self, job: Job, slot: JobSlot) -> None:
        if self.jobs.get(job.conversation_id) is job:
            del self.jobs[job.conversation_id]
            slot.release()
            self._unregistered(job, slot)

    async def saved_reply(self, turn: PreparedTurn) -> Message | None:
        """The reply `ChatService.stream` saved for `turn` as it was cancelled (one query, on a stop only)."""
        async with self.sessionmaker() as session:
            reply = await session.scalar(
                select(Message)
                .where(Message.parent_id == turn.user_message.id, Message.role == "assistant")
                .order_by(Message.id.desc())
                .limit(1)
            )
        if reply is None or reply.id in turn.reply_siblings:
            return None  # nothing was generated before the stop
        return reply

    # -- readers and control -------------------------------------------------------------------------
    async def follow(self, user_id: int, conversation_id: int) -> AsyncGenerator[ReaderEvent, None] | None:
        """A new reader of the conversation's reply in progress (sync first), or None when there is none."""
        job = self.jobs.get(conversation_id)
        if job is None or job.user_id != user_id:
            return None
        upto = len(job.log)
        return job.follow(upto, ReplySync(job.text_so_far(upto), reasoning_so_far=job.reasoning_so_far(upto)))

    async def stop(self, user_id: int, conversation_id: int) -> bool:
        """Stop the conversation's reply in progress; True once its partial reply is saved."""
        job = self.jobs.get(conversation_id)
        if job is None or job.user_id != user_id:
            return False
        job.scope.cancel()
        if job.task is not None:
            await asyncio.wait([job.task], timeout=STOP_WAIT_S)
        return True

    async def generating(self, user_id: int) -> set[int]:
        """The user's conversations with a reply in progress."""
        return {job.conversation_id for job in self.jobs.values() if job.user_id == user_id}

    def running(self) -> int:
        return len(self.jobs)

    # -- hooks for the Redis registry ----------------------------------------------------------------
    def _started(self, job: Job, slot: JobSlot) -> None:
        """A job started on this instance."""

    def _unregistered(self, job: Job, slot: JobSlot) -> None:
        """A job's reply is saved (or it failed): it is no longer generating."""

    def _ended(self, job: Job) -> None:
        """A job's log is complete (its last event, a title perhaps, is in it)."""


async def whole_reply(events: AsyncGenerator[ReaderEvent, None]) -> Message:
    """Follow a job to its saved reply (POST /api/chat): the reply, or the job's error raised (its
    partial reply is saved `incomplete` all the same). The reader leaves at the reply: the title
    that may follow is saved by the job without it."""
    async with contextlib.aclosing(events):
        async for event in events:
            if type(event) is TurnDone:
                return event.assistant_message
            if type(event) is TurnFailed:
                raise event.error
    raise LLMInternalError()  # a job always ends with one of the two
