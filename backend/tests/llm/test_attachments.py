"""A user turn with attachments: content blocks for a model with vision (checked byte for byte as they
reach a fake Gemini through langchain-google-genai), extracted and bounded text for one without."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from app.llm import build_llm_service
from app.llm.attachments import (
    IMAGE_TOKENS,
    PDF_PAGE_TOKENS,
    Attachment,
    CannotReadImages,
    build_user_message,
    estimate_tokens,
)
from tests.fakes import files
from tests.fakes.gemini_server import FakeGeminiServer

PNG = files.image("PNG")
JPEG = files.image("JPEG")
PDF = files.pdf(pages=3)
TEXT_PDF = files.pdf(text="Invoice 42\nTotal: 99 reais")


def test_without_attachments_the_turn_is_plain_text() -> None:
    assert build_user_message("hi", [], vision=True, text_budget_tokens=100).content == "hi"


def test_a_vision_model_gets_images_and_pdfs_as_blocks_and_text_files_by_name() -> None:
    message = build_user_message(
        "What is this?",
        [
            Attachment("a.png", "image/png", PNG),
            Attachment("c.pdf", "application/pdf", PDF),
            Attachment("notes.md", "text/plain", b"# Notes\nbuy milk"),
        ],
        vision=True,
        text_budget_tokens=1000,
    )
    image, document, text_file, own_text = message.content
    assert isinstance(image, dict)
    assert image == {
        "type": "image_url",
        "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()},
    }
    assert document == {
        "type": "file",
        "source_type": "base64",
        "mime_type": "application/pdf",
        "data": base64.b64encode(PDF).decode(),
    }
    assert text_file == {"type": "text", "text": 'File "notes.md":\n# Notes\nbuy milk'}
    assert own_text == {"type": "text", "text": "What is this?"}


def test_a_model_without_vision_gets_pdf_text_within_the_budget_with_a_note() -> None:
    message = build_user_message(
        "Sum it up",
        [Attachment("invoice.pdf", "application/pdf", TEXT_PDF), Attachment("big.txt", "text/plain", b"x" * 1000)],
        vision=False,
        text_budget_tokens=50,  # 200 characters for both files
    )
    pdf_part, text_part, own_text = message.content
    assert isinstance(pdf_part, dict)
    assert isinstance(text_part, dict)
    assert pdf_part["text"].startswith('File "invoice.pdf":\nInvoice 42')
    assert "Total: 99 reais" in pdf_part["text"]
    assert "only its beginning" not in pdf_part["text"]
    assert text_part["text"].endswith("[The file is longer: only its beginning fits here.]")
    body = text_part["text"].removeprefix('File "big.txt":\n').split("\n[")[0]
    assert 0 < len(body) < 200
    assert len(pdf_part["text"]) + len(body) <= 200 + len('File "invoice.pdf":\n')
    assert own_text == {"type": "text", "text": "Sum it up"}


def test_text_already_extracted_is_used_as_is() -> None:
    message = build_user_message(
        "", [Attachment("a.pdf", "application/pdf", text="already here")], vision=False, text_budget_tokens=100
    )
    assert message.content == [{"type": "text", "text": 'File "a.pdf":\nalready here'}]


def test_a_model_without_vision_cannot_take_an_image() -> None:
    with pytest.raises(CannotReadImages, match="this model cannot read images"):
        build_user_message("look", [Attachment("a.png", "image/png", PNG)], vision=False, text_budget_tokens=100)


def test_token_estimates() -> None:
    assert estimate_tokens(Attachment("a.png", "image/png", PNG), vision=True) == IMAGE_TOKENS
    assert estimate_tokens(Attachment("c.pdf", "application/pdf", PDF), vision=True) == 3 * PDF_PAGE_TOKENS
    assert estimate_tokens(Attachment("c.pdf", "application/pdf", page_count=7), vision=True) == 7 * PDF_PAGE_TOKENS
    assert estimate_tokens(Attachment("t.txt", "text/plain", b"x" * 400), vision=True) == 100
    assert estimate_tokens(Attachment("t.txt", "text/plain", b"x" * 400), vision=True, text_budget_tokens=30) == 30
    as_text = estimate_tokens(Attachment("i.pdf", "application/pdf", TEXT_PDF), vision=False)
    assert 5 < as_text < 20


async def test_gemini_receives_the_files_as_inline_data_with_their_bytes(make_settings: Any) -> None:
    with FakeGeminiServer() as gemini:
        settings = make_settings(
            llm_provider="gemini", google_api_key="test-key", gemini_base_url=gemini.url, llm_max_retries=1
        )
        model = await build_llm_service(settings).ready_model()
        message = build_user_message(
            "Compare them",
            [
                Attachment("a.png", "image/png", PNG),
                Attachment("b.jpg", "image/jpeg", JPEG),
                Attachment("c.pdf", "application/pdf", PDF),
                Attachment("notes.txt", "text/plain", "olá".encode()),
            ],
            vision=True,
            text_budget_tokens=1000,
        )
        gemini.script(reply="Done.")
        reply = await model.ainvoke([message])
        assert reply.content == "Done."
        request = gemini.generate_requests()[-1]
        assert request.inline_parts == [("image/png", PNG), ("image/jpeg", JPEG), ("application/pdf", PDF)]
        texts = [part["text"] for part in request.contents[0]["parts"] if "text" in part]
        assert texts == ['File "notes.txt":\nolá', "Compare them"]
