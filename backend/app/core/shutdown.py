"""A graceful stop that is also quick: tell the app the moment SIGTERM (or Ctrl+C) arrives.

uvicorn closes its listening socket on SIGTERM but then waits for every response to end, and a
streamed reply can go on for minutes. With this hook the chat streams see `stopping` set at once,
end with an error event and save their partial text as `incomplete`, so the process exits in
about a second (`--timeout-graceful-shutdown` stays as the backstop for anything else).
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def forward_stop_signals(stopping: asyncio.Event) -> Callable[[], None]:
    """Chain a handler that sets `stopping` in front of the server's own; returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signals only reach the main thread (e.g. a test server run in a thread)
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(stopping.set)
        before = previous[signum]
        if callable(before):
            before(signum, frame)  # uvicorn's handler: stop accepting, then wait for responses
        elif before == signal.SIG_DFL:  # no server handler: behave as if we were not here
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    for signum in STOP_SIGNALS:
        previous[signum] = signal.getsignal(signum)
        signal.signal(signum, handler)

    def undo() -> None:
        for signum, before in previous.items():
            if signal.getsignal(signum) is handler:
                signal.signal(signum, before)

    return undo
