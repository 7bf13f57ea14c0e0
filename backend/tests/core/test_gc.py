"""The lifespan raises the collector's first threshold (a burst of chats spent a fifth of its CPU in gc)."""

from __future__ import annotations

import gc
from typing import Any

from app.main import GC_THRESHOLD_0


async def test_the_lifespan_sets_the_first_gc_threshold(app: Any) -> None:
    assert gc.get_threshold()[0] == GC_THRESHOLD_0
    assert gc.get_freeze_count() > 0  # what the app built at start stays out of the collections
