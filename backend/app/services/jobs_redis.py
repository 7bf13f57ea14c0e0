"""Reply jobs across several instances (REDIS_URL): what one instance generates, another can follow or stop.

The job still runs on the instance that took the request, with its in-memory log and local
readers exactly as in `app.services.jobs` (nothing more per token). One task per instance
copies what the local jobs added since its last pass to a Redis Stream per job, every
`flush_s` (tokens merged into one entry; `XADD` with an approximate `MAXLEN`, a TTL once the job
ended). Also in Redis:

- `{p}:conv:{id}`: the job of a conversation (who runs it, its question): `generating` and 409
  across instances; `{p}:active` lists them and `{p}:userconv:{user}` the user's.
- `{p}:user:{user}`: the user's slots (sorted set scored by expiry): MAX_JOBS_PER_USER across
  instances, taken by one script so two instances cannot both take the last one.
- `{p}:stop`: conversations whose reply someone asked to stop; each instance reads it every pass.
- `{p}:instance:{id}`: the instance is alive (TTL `INSTANCE_TTL_S`, renewed every second). Every
  `SWEEP_EVERY_S` each instance looks for jobs whose instance is gone (SIGKILL, a lost machine),
  saves their text so far from the stream as an `incomplete` reply and ends their stream.

An instance follows a job it does not run by reading its stream: `XRANGE` for the `sync`
snapshot, then `XREAD BLOCK` from the last entry it read, so no entry is missed or repeated.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any

import coredis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import AppError
from app.models import Message
from app.schemas import MessageOut
from app.services.chat import ChatService, PreparedTurn
from app.services.errors import ReplyInProgress, TooManyReplies
from app.services.events import (
    Reasoning,
    RelayedEvent,
    ReplySync,
    TitleChanged,
    Token,
    TurnDone,
    TurnFailed,
    TurnStarted,
)
from app.services.jobs import (
    STOP_WAIT_S,
    Job,
    JobRegistry,
    JobSlot,
    ReaderEvent,
)

logger = logging.getLogger("app.jobs")
FLUSH_S = 0.2  # how often the local jobs' new events reach Redis (a remote reader's extra delay)
HEARTBEAT_S = 1.0
INSTANCE_TTL_S = 10  # an instance silent this long is dead: its jobs are recovered by the others
SWEEP_EVERY_S = 5.0
SLOT_TTL_S = 30  # a slot not renewed this long is free (its instance died)
RESERVATION_TTL_S = 60  # a conversation reserved but never started (the instance died in between)
STREAM_MAXLEN = 5_000  # entries per job stream (a reply has far fewer: tokens are merged per flush)
STREAM_TTL_S = 120  # a finished job's stream stays this long for readers still catching up
READ_BLOCK_MS = 5_000

# KEYS: the user's slots, the conversation's job (or an unused key). ARGV: now, slot expiry, max, token,
# instance, 1 when a conversation is given. -1: the conversation has a reply; 0: no slot left; 1: taken.
RESERVE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if ARGV[6] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], 86400)
if ARGV[6] == '1' then
  redis.call('HSET', KEYS[2], 'state', 'reserved', 'instance', ARGV[5])
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[7]))
end
return 1
"""


class InstanceLost(AppError):
    code = "server_lost"
    status_code = 503
    default_message = "The server writing this reply stopped. The reply so far was saved; please try again."


def message_json(message: Message | None) -> dict[str, Any] | None:
    return MessageOut.model_validate(message).model_dump(mode="json") if message is not None else None


def error_json(error: AppError, message: Message | None) -> dict[str, Any]:
    payload: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.retry_after is not None:
        payload["retry_after"] = error.retry_after
    payload["assistant_message"] = message_json(message)
    return payload


def relayed(event: ReaderEvent) -> tuple[str, dict[str, Any]] | None:
    """An event as its SSE name and data, for a reader on another instance (the same as sse.py sends)."""
    if isinstance(event, TurnDone):
        return "done", {"assistant_message": message_json(event.assistant_message)}
    if isinstance(event, TurnFailed):
        return "error", error_json(event.error, event.assistant_message)
    if isinstance(event, TitleChanged):
        return "title", {"conversation_id": event.conversation_id, "title": event.title}
    if isinstance(event, Reasoning):
        return "reasoning", {"text": event.text}
    return None  # TurnStarted: only the request that started the job sees it


@dataclass
class Relay:
    """What of a local job has reached its Redis stream."""

    stream: str
    sent: int = 0
    ended: bool = False
    published: asyncio.Task[None] | None = None  # the job's entry in Redis (its end waits for it)


@dataclass
class RedisJobRegistry(JobRegistry):
    chat: ChatService | None = None
    redis: Any = None
    prefix: str = "conversa"
    instance: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    relays: dict[Job, Relay] = field(default_factory=dict)
    slot_expiry: dict[str, int] = field(default_factory=dict)  # slot token -> user id, renewed each heartbeat
    loop_task: asyncio.Task[None] | None = None
    # One writer at a time: two pipelines may run in either order, and a stream's entries must not.
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _reserve_script: Any = None

    @classmethod
    def connect(
        cls,
        url: str,
        prefix: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        chat: ChatService,
        max_per_user: int,
    ) -> RedisJobRegistry:
        redis = coredis.Redis.from_url(url, decode_responses=True)
        return cls(
            sessionmaker, chat.background, max_per_user=max_per_user, chat=chat, redis=redis, prefix=f"{prefix}:jobs"
        )

    def key(self, *parts: object) -> str:
        return ":".join([self.prefix, *map(str, parts)])

    # -- life -------------------------------------------------------------------------------------------
    async def open(self) -> None:
        self._reserve_script = self.redis.register_script(RESERVE)
        await self.redis.set(self.key("instance", self.instance), "1", ex=INSTANCE_TTL_S)
        self.loop_task = asyncio.create_task(self._loop())

    async def close(self) -> None:
        """At shutdown, after the jobs ended: their last events reach Redis, then this instance leaves."""
        if self.loop_task is not None:
            self.loop_task.cancel()
            await asyncio.gather(self.loop_task, return_exceptions=True)
        try:
            await self._flush()
            await self.redis.delete([self.key("instance", self.instance)])
        except Exception:
            logger.exception("could not flush the reply jobs to Redis at shutdown")

    async def _loop(self) -> None:
        next_beat = next_sweep = 0.0
        while True:
            try:
                await self._flush()
                await self._take_stop_requests()
                now = time.monotonic()
                if now >= next_beat:
                    next_beat = now + HEARTBEAT_S
                    await self._heartbeat()
                if now >= next_sweep:
                    next_sweep = now + SWEEP_EVERY_S
                    await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away for a moment: the local jobs go on, the next pass catches up
                logger.exception("reply jobs: Redis pass failed")
            await asyncio.sleep(self.flush_s)

    flush_s: float = FLUSH_S

    # -- admission ----------------------------------------------------------------------------------------
    async def _reserve(self, user_id: int, conversation_id: int | None) -> JobSlot:
        slot = await super()._reserve(user_id, conversation_id)  # this instance's own bounds first
        token = f"{self.instance}:{uuid.uuid4().hex[:12]}"
        now = time.time()
        try:
            taken = await self._reserve_script(
                keys=[self.key("user", user_id), self.key("conv", conversation_id or 0)],
                args=[
                    now,
                    now + SLOT_TTL_S,
                    self.max_per_user,
                    token,
                    self.instance,
                    1 if conversation_id is not None else 0,
                    RESERVATION_TTL_S,
                ],
            )
        except BaseException:
            super()._release(slot)
            slot.released = True
            raise
        if taken != 1:
            super()._release(slot)
            slot.released = True
            raise ReplyInProgress() if taken == -1 else TooManyReplies()
        slot.token = token
        self.slot_expiry[token] = user_id
        return slot

    def _release(self, slot: JobSlot) -> None:
        super()._release(slot)
        self.slot_expiry.pop(slot.token, None)
        keys_to_drop = [] if slot.started or slot.conversation_id is None else [self.key("conv", slot.conversation_id)]
        self._background(self._release_in_redis(slot.user_id, slot.token, keys_to_drop))

    async def _release_in_redis(self, user_id: int, token: str, keys: list[str]) -> None:
        await self.redis.zrem(self.key("user", user_id), [token])
        if keys:
            await self.redis.delete(keys)

    def _background(self, work: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(work)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    # -- local jobs, as seen from Redis -------------------------------------------------------------------
    def _started(self, job: Job, slot: JobSlot) -> None:
        job_id = uuid.uuid4().hex
        self.relays[job] = Relay(self.key("stream", job_id))
        turn = job.turn
        fields = {
            "state": "running",
            "instance": self.instance,
            "user": job.user_id,
            "job": job_id,
            "slot": slot.token,
            "question": turn.user_message.id,
            "siblings": ",".join(map(str, turn.reply_siblings)),
        }
        relay = self.relays[job]
        relay.published = self._background(self._publish_start(job.conversation_id, job.user_id, fields))

    async def _publish_start(self, conversation_id: int, user_id: int, fields: dict[str, Any]) -> None:
        pipe = await self.redis.pipeline(transaction=False)
        pipe.hset(self.key("conv", conversation_id), fields)
        pipe.persist(self.key("conv", conversation_id))
        pipe.sadd(self.key("active"), [conversation_id])
        pipe.sadd(self.key("userconv", user_id), [conversation_id])
        await pipe.execute()

    def _unregistered(self, job: Job, slot: JobSlot) -> None:
        relay = self.relays.get(job)
        self._background(self._publish_end(job, relay))

    async def _publish_end(self, job: Job, relay: Relay | None) -> None:
        if relay is not None and relay.published is not None:
            await asyncio.wait([relay.published])  # a short reply must not end before it was announced
        await self._flush_job(job, relay)  # the done/error event first, so a follower never misses it
        pipe = await self.redis.pipeline(transaction=False)
        pipe.delete([self.key("conv", job.conversation_id)])
        pipe.srem(self.key("active"), [job.conversation_id])
        pipe.srem(self.key("userconv", job.user_id), [job.conversation_id])
        await pipe.execute()

    async def _flush(self) -> None:
        if not self.relays:
            return
        async with self.write_lock:
            pipe = await self.redis.pipeline(transaction=False)
            pending = 0
            for job, relay in list(self.relays.items()):
                pending += self._queue_entries(pipe, job, relay)
            if pending:
                await pipe.execute()

    async def _flush_job(self, job: Job, relay: Relay | None) -> None:
        if relay is None:
            return
        async with self.write_lock:
            pipe = await self.redis.pipeline(transaction=False)
            if self._queue_entries(pipe, job, relay):
                await pipe.execute()

    def _queue_entries(self, pipe: Any, job: Job, relay: Relay) -> int:
        """Queue the job's events not yet in its stream (tokens merged); returns how many commands."""
        log, start, end = job.log, relay.sent, len(job.log)
        ended = job.ended
        if start == end and not (ended and not relay.ended):
            return 0
        relay.sent = end
        commands = 0
        text: list[str] = []
        for event in log[start:end]:
            if type(event) is Token:
                text.append(event.text)
                continue
            if text:
                commands += self._xadd(pipe, relay, {"t": "".join(text)})
                text = []
            if isinstance(event, TurnStarted | RelayedEvent | ReplySync):
                continue
            named = relayed(event)
            if named is not None:
                commands += self._xadd(pipe, relay, {"e": named[0], "d": json.dumps(named[1], ensure_ascii=False)})
        if text:
            commands += self._xadd(pipe, relay, {"t": "".join(text)})
        if ended and not relay.ended:
            relay.ended = True
            commands += self._xadd(pipe, relay, {"end": "1"})
            pipe.expire(relay.stream, STREAM_TTL_S)
            self.relays.pop(job, None)
        return commands

    @staticmethod
    def _xadd(pipe: Any, relay: Relay, values: dict[str, str]) -> int:
        pipe.xadd(
            relay.stream,
            values,
            trim_strategy=coredis.PureToken.MAXLEN,
            threshold=STREAM_MAXLEN,
            trim_operator=coredis.PureToken.APPROXIMATELY,
        )
        return 1

    def _ended(self, job: Job) -> None:
        relay = self.relays.get(job)
        if relay is not None:
            self._background(self._flush_job(job, relay))

    async def _heartbeat(self) -> None:
        pipe = await self.redis.pipeline(transaction=False)
        pipe.set(self.key("instance", self.instance), "1", ex=INSTANCE_TTL_S)
        expiry = time.time() + SLOT_TTL_S
        for token, user_id in self.slot_expiry.items():
            pipe.zadd(self.key("user", user_id), {token: expiry}, condition=coredis.PureToken.XX)
        await pipe.execute()

    async def _take_stop_requests(self) -> None:
        wanted = await self.redis.smembers(self.key("stop"))
        if not wanted:
            return
        mine = [int(c) for c in wanted if c.isdigit() and int(c) in self.jobs]
        for conversation_id in mine:
            self.jobs[conversation_id].scope.cancel()
        if mine:
            await self.redis.srem(self.key("stop"), [str(c) for c in mine])
        # Requests nobody can take (the job ended meanwhile) go once their conversation has no job.
        stale = [c for c in wanted if c.isdigit() and int(c) not in self.jobs]
        if stale:
            exists = await self._exists_many([self.key("conv", c) for c in stale])
            gone = [c for c, alive in zip(stale, exists, strict=True) if not alive]
            if gone:
                await self.redis.srem(self.key("stop"), gone)

    async def _exists_many(self, keys: list[str]) -> list[bool]:
        pipe = await self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.exists([key])
        return [bool(n) for n in await pipe.execute()]

    # -- readers and control from any instance ----------------------------------------------------------
    async def _remote_job(self, user_id: int, conversation_id: int) -> dict[str, str] | None:
        job = await self.redis.hgetall(self.key("conv", conversation_id))
        if not job or job.get("state") != "running" or job.get("user") != str(user_id):
            return None
        return dict(job)

    async def follow(self, user_id: int, conversation_id: int) -> AsyncGenerator[ReaderEvent, None] | None:
        local = await super().follow(user_id, conversation_id)
        if local is not None:
            return local
        job = await self._remote_job(user_id, conversation_id)
        if job is None:
            return None
        stream = self.key("stream", job["job"])
        entries = await self.redis.xrange(stream, "-", "+")
        text: list[str] = []
        reasoning: list[str] = []
        last = "0-0"
        for entry in entries:
            values = entry.field_values
            if "end" in values or values.get("e") in ("done", "error"):
                return None  # it just ended: the reply is saved
            if "t" in values:
                text.append(values["t"])
            elif values.get("e") == "reasoning":
                reasoning.append(str(json.loads(values["d"])["text"]))
            last = entry.identifier
        sync = ReplySync("".join(text), reasoning_so_far="".join(reasoning) if reasoning else None)
        return self._read_stream(stream, last, sync)

    async def _read_stream(self, stream: str, last: str, sync: ReplySync) -> AsyncGenerator[ReaderEvent, None]:
        yield sync
        while True:
            answer = await self.redis.xread({stream: last}, count=500, block=READ_BLOCK_MS)
            if not answer:
                if not await self.redis.exists([stream]):
                    return  # expired: its instance is gone and nobody recovered it yet
                continue
            for entry in answer.get(stream, ()):
                last = entry.identifier
                values = entry.field_values
                if "end" in values:
                    return
                if "t" in values:
                    yield Token(values["t"])
                elif "e" in values:
                    yield RelayedEvent(values["e"], values["d"])

    async def stop(self, user_id: int, conversation_id: int) -> bool:
        if await super().stop(user_id, conversation_id):
            return True
        if await self._remote_job(user_id, conversation_id) is None:
            return False
        await self.redis.sadd(self.key("stop"), [str(conversation_id)])
        deadline = time.monotonic() + STOP_WAIT_S
        while time.monotonic() < deadline:  # answered once the partial reply is saved, as on one instance
            await asyncio.sleep(0.05)
            if not await self.redis.exists([self.key("conv", conversation_id)]):
                break
        return True

    async def generating(self, user_id: int) -> set[int]:
        local = await super().generating(user_id)
        remote = await self.redis.smembers(self.key("userconv", user_id))
        return local | {int(c) for c in remote if c.isdigit()}

    # -- jobs of dead instances -----------------------------------------------------------------------------
    async def sweep(self) -> int:
        """Save the text so far of jobs whose instance died, as `incomplete` replies; returns how many."""
        active = [c for c in await self.redis.smembers(self.key("active")) if c.isdigit()]
        if not active:
            return 0
        pipe = await self.redis.pipeline(transaction=False)
        for conversation_id in active:
            pipe.hgetall(self.key("conv", conversation_id))
        jobs = await pipe.execute()
        recovered = 0
        for conversation_id, job in zip(active, jobs, strict=True):
            if not job:
                await self.redis.srem(self.key("active"), [conversation_id])
                continue
            instance = job.get("instance", "")
            if instance == self.instance or await self.redis.exists([self.key("instance", instance)]):
                continue
            claimed = await self.redis.set(
                self.key("sweep", conversation_id), self.instance, condition=coredis.PureToken.NX, ex=30
            )
            if claimed:
                await self._recover(int(conversation_id), dict(job))
                recovered += 1
        return recovered

    async def _recover(self, conversation_id: int, job: dict[str, str]) -> None:
        assert self.chat is not None
        stream = self.key("stream", job.get("job", "none"))
        entries = await self.redis.xrange(stream, "-", "+")
        ended = any("end" in e.field_values or e.field_values.get("e") in ("done", "error") for e in entries)
        saved: Message | None = None
        if not ended and job.get("state") == "running":
            text = "".join(e.field_values.get("t", "") for e in entries)
            question = Message(id=int(job["question"]), conversation_id=conversation_id)
            siblings = tuple(int(s) for s in job.get("siblings", "").split(",") if s)
            turn = PreparedTurn(conversation_id, question, [], needs_title=False, reply_siblings=siblings)
            saved = await self.chat.save_reply(turn, text, "incomplete")
            logger.warning(
                "reply of conversation %s recovered from a dead instance (%s): %d characters saved incomplete",
                conversation_id,
                job.get("instance"),
                len(text),
            )
            pipe = await self.redis.pipeline(transaction=False)
            payload = json.dumps(error_json(InstanceLost(), saved), ensure_ascii=False)
            pipe.xadd(stream, {"e": "error", "d": payload})
            pipe.xadd(stream, {"end": "1"})
            pipe.expire(stream, STREAM_TTL_S)
            await pipe.execute()
        pipe = await self.redis.pipeline(transaction=False)
        pipe.delete([self.key("conv", conversation_id)])
        pipe.srem(self.key("active"), [str(conversation_id)])
        if job.get("user"):
            pipe.srem(self.key("userconv", job["user"]), [str(conversation_id)])
            if job.get("slot"):
                pipe.zrem(self.key("user", job["user"]), [job["slot"]])
        await pipe.execute()
