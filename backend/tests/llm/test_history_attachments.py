"""build_prompt with attachments: what a file costs against the budget, oldest turns first out."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from app.llm.attachments import IMAGE_TOKENS, CannotReadImages
from app.llm.history import UNSEEN_IMAGE, build_prompt
from app.llm.types import Attachment, ChatTurn
from tests.fakes import files

PHOTO = Attachment("photo.png", "image/png", data=files.image("PNG", size=(400, 400)))


def test_an_image_costs_its_model_tokens_not_its_base64_size() -> None:
    turns = [
        ChatTurn("user", "look", (PHOTO,)),
        ChatTurn("assistant", "a red square"),
        ChatTurn("user", "and?"),
    ]
    # Enough for the image's 258 tokens and a few words, far less than its base64 text.
    prompt = build_prompt("sys", turns, IMAGE_TOKENS + 40, vision=True)
    assert len(prompt) == 4
    assert isinstance(prompt[1], HumanMessage)
    assert prompt[1].content[0]["type"] == "image_url"  # type: ignore[index]
    # With less room the oldest turn (the image) goes first, and its answer with it.
    prompt = build_prompt("sys", turns, IMAGE_TOKENS // 2, vision=True)
    assert [type(m) for m in prompt[1:]] == [HumanMessage]
    assert prompt[-1].content == "and?"


def test_the_newest_turn_is_kept_with_its_files_even_over_budget() -> None:
    prompt = build_prompt("sys", [ChatTurn("user", "", (PHOTO, PHOTO))], 10, vision=True)
    assert [block["type"] for block in prompt[1].content] == ["image_url", "image_url"]  # type: ignore[index, union-attr]


def test_a_text_only_model_gets_a_pdf_as_text_cut_to_the_budget() -> None:
    long_pdf = Attachment("long.pdf", "application/pdf", data=files.pdf(text="\n".join(["word " * 50] * 20)))
    prompt = build_prompt("sys", [ChatTurn("user", "sum up", (long_pdf,))], 200, vision=False)
    text = prompt[-1].content
    assert isinstance(text, str)
    assert text.startswith('File "long.pdf":\nword word')
    assert "[The file is longer: only its beginning fits here.]" in text
    assert text.endswith("sum up")
    assert len(text) < 200 * 4 + 200


def test_a_text_only_model_refuses_a_new_image_and_is_told_about_old_ones() -> None:
    with pytest.raises(CannotReadImages):
        build_prompt("sys", [ChatTurn("user", "what?", (PHOTO,))], 10_000, vision=False)
    prompt = build_prompt(
        "sys",
        [ChatTurn("user", "what?", (PHOTO,)), ChatTurn("assistant", "a square"), ChatTurn("user", "ok")],
        10_000,
        vision=False,
    )
    assert isinstance(prompt[2], AIMessage)
    assert prompt[1].content == f'File "photo.png":\n{UNSEEN_IMAGE}\n\nwhat?'
