"""A bound on each wait for the model's next chunk, with one timer per stall instead of one per chunk."""

from __future__ import annotations

import asyncio
from types import TracebackType


class StallTimeout:
    """`with stall: await anext(stream)` raises TimeoutError when that one wait lasts over `limit` s.

    asyncio.timeout() around every chunk creates and cancels a timer per token (~5 µs; at 1,000
    streams x 20 tokens/s, a tenth of a core). Here a wait only records when it started; a single
    timer checks, when it fires, whether the current wait is overdue and otherwise moves itself to
    that wait's own deadline.
    """

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self._loop = asyncio.get_running_loop()
        # The task is the one that enters, not the one that built this: an async generator that
        # builds it may later be advanced from another task, and only the waiting task may be cancelled.
        self._task: asyncio.Task[object] | None = None
        self._waiting_since: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._cancelling = 0
        self._expired = False

    def __enter__(self) -> StallTimeout:
        task = asyncio.current_task()
        assert task is not None, "StallTimeout must be used inside a task"
        if task is not self._task and self._timer is not None:  # a new task: the old timer would cancel the old one
            self._timer.cancel()
            self._timer = None
        self._task = task
        self._waiting_since = self._loop.time()
        self._cancelling = task.cancelling()
        if self._timer is None:
            self._timer = self._loop.call_at(self._waiting_since + self.limit, self._check)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._waiting_since = None
        if self._expired:
            self._expired = False
            assert self._task is not None
            # Our own cancellation (and no one else's) becomes the TimeoutError, as in asyncio.timeout.
            if self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
                raise TimeoutError from exc

    def _check(self) -> None:
        self._timer = None
        if self._waiting_since is None:  # between waits: the next wait arms a new timer
            return
        due = self._waiting_since + self.limit
        if self._loop.time() >= due:
            assert self._task is not None
            self._expired = True
            self._task.cancel()
        else:
            self._timer = self._loop.call_at(due, self._check)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
