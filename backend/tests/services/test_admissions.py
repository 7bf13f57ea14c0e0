"""Admissions: replies in flight yield to requests being admitted, for a bounded time."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from app.llm import LLMService
from app.llm.fake import FakeChatModel
from app.llm.types import ChatTurn
from app.models import Message, utcnow
from app.services.admissions import Admissions
from app.services.chat import ChatService, PreparedTurn


async def test_no_one_waiting_means_no_wait() -> None:
    admissions = Admissions()
    started = time.perf_counter()
    for _ in range(1000):
        await admissions.wait_turn()
    assert time.perf_counter() - started < 0.05


async def test_a_reply_waits_until_admission_ends() -> None:
    admissions = Admissions(max_pause_s=5)
    ticket = admissions.ticket()
    waiter = asyncio.create_task(admissions.wait_turn())
    await asyncio.sleep(0.05)
    assert not waiter.done()
    ticket.done()
    ticket.done()  # idempotent: the route and the dependency may both finish it
    await asyncio.wait_for(waiter, 1)
    assert admissions.pending == 0


async def test_a_reply_never_waits_longer_than_the_cap() -> None:
    admissions = Admissions(max_pause_s=0.1)
    admissions.ticket()  # never finished: a steady flow of arrivals
    started = time.perf_counter()
    await admissions.wait_turn()
    assert 0.09 < time.perf_counter() - started < 0.5


async def test_a_streaming_reply_pauses_between_tokens_while_a_request_is_admitted(make_settings: Any) -> None:
    settings = make_settings(fake_llm_delay_ms=5)
    llm = LLMService(FakeChatModel(delay_s=0.005), "fake", "fake", settings)
    chat = ChatService(sessionmaker=None, llm=llm, settings=settings)  # type: ignore[arg-type]
    chat.admissions.max_pause_s = 5

    async def save_nothing(*_: Any) -> None:
        return None

    chat.save_reply = save_nothing  # type: ignore[method-assign]
    question = Message(id=1, conversation_id=1, role="user", content="hi", status="complete", created_at=utcnow())
    turn = PreparedTurn(1, question, [ChatTurn("user", "hi")], needs_title=False)
    events = chat.stream(turn)
    assert (await anext(events)).startswith(b"event: start")
    assert (await anext(events)).startswith(b"event: token")  # the first token is part of admission
    ticket = chat.admissions.ticket()
    next_token = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0.2)
    assert not next_token.done()  # 40 model delays later, still held back
    ticket.done()
    assert (await asyncio.wait_for(next_token, 1)).startswith(b"event: token")
    await events.aclose()
