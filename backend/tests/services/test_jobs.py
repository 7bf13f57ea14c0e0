"""The job registry on its own: readers joining at any moment see each token exactly once."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.models import Message
from app.services.chat import PreparedTurn
from app.services.errors import TooManyReplies
from app.services.events import ChatEvent, ReplySync, Token, TurnDone, TurnStarted
from app.services.jobs import JobRegistry

WORDS = [f" w{i}" for i in range(200)]


def turn(conversation_id: int) -> PreparedTurn:
    return PreparedTurn(conversation_id, Message(id=conversation_id * 10, content="q"), [], needs_title=False)


def scripted_reply(delays: list[float]) -> Any:
    async def events(prepared: PreparedTurn) -> AsyncIterator[ChatEvent]:
        yield TurnStarted(prepared.conversation_id, prepared.user_message)
        for word, delay in zip(WORDS, delays, strict=True):
            if delay:
                await asyncio.sleep(delay)
            yield Token(word)
        yield TurnDone(Message(id=1, content="".join(WORDS)))

    return events


async def read_all(events: AsyncIterator[Any]) -> str:
    text = ""
    async for event in events:
        if isinstance(event, ReplySync):
            assert text == ""  # the snapshot comes first, once
            text = event.text_so_far
        elif isinstance(event, Token):
            text += event.text
        elif isinstance(event, TurnDone):
            assert text == event.assistant_message.content
    return text


async def test_readers_joining_at_random_moments_get_every_token_once() -> None:
    rng = random.Random(19)
    registry = JobRegistry(None, set(), max_per_user=1)  # type: ignore[arg-type]  # no database needed
    delays = [rng.choice([0, 0, 0.001, 0.002]) for _ in WORDS]  # some tokens arrive in bursts
    async with registry.reserve(7, None) as slot:
        first = registry.start(slot, turn(5), scripted_reply(delays))
    followers: list[asyncio.Task[str]] = []
    while 5 in registry.jobs:
        events = await registry.follow(7, 5)
        if events is not None:
            followers.append(asyncio.create_task(read_all(events)))
        await asyncio.sleep(rng.choice([0, 0.0005, 0.002]))
    texts = await asyncio.gather(read_all(first), *followers)
    assert len(followers) > 20
    assert all(text == "".join(WORDS) for text in texts)
    assert await registry.follow(7, 5) is None  # ended: nothing to follow
    assert registry.slots == {}  # the slot went with the job


async def test_a_reader_that_leaves_changes_nothing_for_the_job() -> None:
    registry = JobRegistry(None, set())  # type: ignore[arg-type]
    async with registry.reserve(1, None) as slot:
        reader = registry.start(slot, turn(3), scripted_reply([0.001] * len(WORDS)))
    job = registry.jobs[3]
    async for event in reader:
        if isinstance(event, Token):
            break
    await reader.aclose()  # type: ignore[attr-defined]
    assert job.readers == set()
    assert job.task is not None
    await job.task
    assert "".join(e.text for e in job.log if isinstance(e, Token)) == "".join(WORDS)


async def test_slots_are_held_from_reservation_and_freed_when_nothing_starts() -> None:
    registry = JobRegistry(None, set(), max_per_user=1)  # type: ignore[arg-type]

    async def request_that_fails_after_reserving() -> None:
        async with registry.reserve(1, None):
            assert registry.slots == {1: 1}
            with pytest.raises(TooManyReplies):
                await registry.reserve(1, None).__aenter__()
            raise RuntimeError("storing the question failed")

    with pytest.raises(RuntimeError, match="storing the question failed"):
        await request_that_fails_after_reserving()
    assert registry.slots == {}  # freed: the failed request took nothing with it
    async with registry.reserve(1, 9):
        assert registry.reserved_conversations == {9}
    assert registry.reserved_conversations == set()
