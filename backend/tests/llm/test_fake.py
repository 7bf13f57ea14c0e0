"""The development model's scripted pace: `[[pace:N]]` sets one reply's delay between words."""

from __future__ import annotations

import time

from langchain_core.messages import HumanMessage

from app.llm.fake import FakeChatModel


async def _stream_seconds(model: FakeChatModel, text: str) -> tuple[float, int]:
    started = time.monotonic()
    words = [chunk async for chunk in model.astream([HumanMessage(text)])]
    return time.monotonic() - started, len(words)


async def test_a_paced_message_streams_at_its_own_pace_and_others_at_the_configured_one() -> None:
    model = FakeChatModel(delay_s=0)
    fast, fast_words = await _stream_seconds(model, "a quick one")
    slow, slow_words = await _stream_seconds(model, "[[pace:40]] slow one")
    assert fast_words == slow_words > 40
    # Every word waits 40 ms after the marker; without it nothing sleeps. Only a lower bound on
    # the slow one: a loaded machine can only make either take longer.
    assert slow >= 0.9 * 0.04 * slow_words  # the event loop may wake a timer up to a clock tick early
    assert fast < slow


def test_the_pace_is_read_from_the_last_message_only() -> None:
    model = FakeChatModel(delay_s=0.02)
    assert model._script([HumanMessage("[[pace:5]] earlier"), HumanMessage("now")])[1] == 0.02
    assert model._script([HumanMessage("now [[pace:250]]")])[1] == 0.25
    assert model._script([HumanMessage("[[pace:]] not a number")])[1] == 0.02


def test_a_title_leaves_the_pace_marker_out() -> None:
    from langchain_core.messages import SystemMessage

    from app.llm.prompts import TITLE_INSTRUCTION

    model = FakeChatModel(delay_s=0)
    title = model.reply_for([SystemMessage(TITLE_INSTRUCTION), HumanMessage("User: Hello streaming world [[pace:30]]")])
    assert title == "Hello streaming world"
