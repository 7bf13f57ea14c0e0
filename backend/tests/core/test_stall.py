"""StallTimeout: each wait for a chunk is bounded; the time between waits and the total are not."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from app.core.stall import StallTimeout


async def ticks(gaps: list[float]) -> AsyncIterator[int]:
    for i, gap in enumerate(gaps):
        await asyncio.sleep(gap)
        yield i


async def drain(stream: AsyncIterator[int], limit: float, consumer_pause: float = 0.0) -> list[int]:
    stall = StallTimeout(limit)
    received: list[int] = []
    try:
        while True:
            try:
                with stall:
                    item = await anext(stream)
            except StopAsyncIteration:
                return received
            received.append(item)
            await asyncio.sleep(consumer_pause)  # the consumer's own time is never counted
    finally:
        stall.close()


async def test_a_steady_stream_longer_than_the_limit_is_fine() -> None:
    started = time.perf_counter()
    # Gaps well under the limit (a loaded machine stretches a sleep), a whole stream well over it.
    assert await drain(ticks([0.25] * 10), limit=2.0) == list(range(10))
    assert time.perf_counter() - started > 2.0


async def test_a_slow_consumer_is_not_a_stalled_model() -> None:
    assert await drain(ticks([0.01] * 3), limit=0.05, consumer_pause=0.12) == [0, 1, 2]


async def test_a_stall_raises_timeout_after_the_limit() -> None:
    received: list[int] = []

    async def run() -> None:
        stall = StallTimeout(0.1)
        stream = ticks([0.01, 0.01, 5.0])
        try:
            while True:
                with stall:
                    received.append(await anext(stream))
        finally:
            stall.close()

    started = time.perf_counter()
    with pytest.raises(TimeoutError):
        await run()
    assert time.perf_counter() - started >= 0.1  # never before the limit (an upper bound would be a timing test)
    assert received == [0, 1]


async def test_a_cancel_from_outside_stays_a_cancel() -> None:
    waiting = asyncio.Event()

    async def slow() -> AsyncIterator[int]:
        waiting.set()
        await asyncio.sleep(5.0)
        yield 0

    task = asyncio.create_task(drain(slow(), limit=10))
    await waiting.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_the_task_can_wait_again_after_a_timeout() -> None:
    with pytest.raises(TimeoutError):
        await drain(ticks([1.0]), limit=0.05)
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    assert await drain(ticks([0.01]), limit=0.05) == [0]


async def test_the_task_that_waits_is_the_one_cancelled_not_the_one_that_built_it() -> None:
    """A generator may build its StallTimeout in one task and be advanced from another."""
    stall = StallTimeout(0.05)  # built here, in the test's task
    builder = asyncio.current_task()
    assert builder is not None

    async def wait_in_another_task() -> None:
        with stall:
            await asyncio.sleep(5.0)

    other = asyncio.create_task(wait_in_another_task())
    try:
        with pytest.raises(TimeoutError):
            await other  # the waiting task timed out ...
        assert builder.cancelling() == 0  # ... and the task that built the timer was never cancelled
    finally:
        stall.close()
