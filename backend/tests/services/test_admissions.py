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
from app.services.events import Token, TurnStarted


async def test_no_one_waiting_means_no_wait() -> None:
    admissions = Admissions(max_pause_s=60)
    for _ in range(1000):
        await asyncio.wait_for(admissions.wait_turn(), 10)  # would take 60 s if it waited once
    assert admissions.capped_pauses == 0


async def test_a_reply_waits_until_admission_ends() -> None:
    admissions = Admissions(max_pause_s=5)
    ticket = admissions.ticket()
    waiter = asyncio.create_task(admissions.wait_turn())
    await asyncio.sleep(0.05)
    assert not waiter.done()
    ticket.done()
    ticket.done()  # idempotent: the route and the dependency may both finish it
    await asyncio.wait_for(waiter, 10)
    assert admissions.pending == 0


async def test_a_reply_never_waits_longer_than_the_cap_and_the_cap_is_logged(caplog: Any) -> None:
    admissions = Admissions(max_pause_s=0.1)
    admissions.ticket()  # never finished: a steady flow of arrivals
    started = time.perf_counter()
    with caplog.at_level("WARNING", logger="app.admissions"):
        await asyncio.wait_for(admissions.wait_turn(), 10)
        await asyncio.wait_for(admissions.wait_turn(), 10)
    assert time.perf_counter() - started >= 0.2
    assert admissions.capped_pauses == 2
    logged = [r for r in caplog.records if "full cap of 100 ms" in r.getMessage()]
    assert len(logged) == 1  # once per LOG_EVERY_S, not once per pause


async def test_the_cap_is_a_setting(make_settings: Any) -> None:
    chat = ChatService(None, None, make_settings(admission_max_pause_ms=250))  # type: ignore[arg-type]
    assert chat.admissions.max_pause_s == 0.25


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
    assert isinstance(await anext(events), TurnStarted)
    assert isinstance(await anext(events), Token)  # the first token is part of admission
    ticket = chat.admissions.ticket()
    next_token = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0.2)
    assert not next_token.done()  # 40 model delays later, still held back
    ticket.done()
    assert isinstance(await asyncio.wait_for(next_token, 10), Token)
    await events.aclose()
