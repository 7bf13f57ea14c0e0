"""A user turn with attachments as one LangChain HumanMessage, from plain data.

A model that reads images and PDFs (Gemini) gets them as content blocks, which langchain-google-genai
sends as `inlineData` parts carrying the file's bytes; text files are text parts headed by their name.
A model that does not (the embedded model, `fake`, most Ollama models) gets PDFs and text files as
text, within a budget, with a note when something was cut; it cannot take images at all.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import HumanMessage

from app.llm.errors import CannotReadImages
from app.llm.types import IMAGE_TYPES, PDF_TYPE, Attachment

# Gemini's own accounting: an image (up to 384 px a side, larger ones in 768 px tiles) and a PDF page.
IMAGE_TOKENS = 258
PDF_PAGE_TOKENS = 258
CHARS_PER_TOKEN = 4  # the same rough rule as langchain's count_tokens_approximately


def build_user_message(
    text: str,
    attachments: Sequence[Attachment],
    *,
    vision: bool,
    text_budget_tokens: int,
    pdfs: bool | None = None,
) -> HumanMessage:
    """The turn as one HumanMessage: the files first (in order), then the user's own text.

    `text_budget_tokens` bounds all the text taken from files together (extracted PDFs, text files);
    what does not fit is cut with a note saying so. Raises CannotReadImages for an image when
    `vision` is False. `pdfs`: the model reads PDFs itself (default: as `vision`; an Ollama vision
    model reads images but gets a PDF's text).
    """
    if not attachments:
        return HumanMessage(text)
    pdfs = vision if pdfs is None else pdfs
    remaining = text_budget_tokens * CHARS_PER_TOKEN
    blocks: list[str | dict[str, Any]] = []
    for attachment in attachments:
        if attachment.is_image:
            if not vision:
                raise CannotReadImages
            encoded = base64.b64encode(_bytes(attachment)).decode()
            blocks.append({"type": "image_url", "image_url": {"url": f"data:{attachment.mime_type};base64,{encoded}"}})
        elif attachment.is_pdf and pdfs:
            encoded = base64.b64encode(_bytes(attachment)).decode()
            blocks.append({"type": "file", "source_type": "base64", "mime_type": PDF_TYPE, "data": encoded})
        else:
            body, cut = _file_text(attachment, remaining)
            remaining = max(0, remaining - len(body))
            blocks.append({"type": "text", "text": file_part_text(attachment.name, body, cut)})
    if text:
        blocks.append({"type": "text", "text": text})
    return HumanMessage(content=blocks)


def file_part_text(name: str, body: str, cut: bool) -> str:
    note = "\n[The file is longer: only its beginning fits here.]" if cut else ""
    return f'File "{name}":\n{body}{note}'


def estimate_tokens(
    attachment: Attachment, *, vision: bool, text_budget_tokens: int | None = None, pdfs: bool | None = None
) -> int:
    """What the attachment costs in the prompt, without calling the model (for the history budget)."""
    if attachment.is_image:
        return IMAGE_TOKENS
    if attachment.is_pdf and (vision if pdfs is None else pdfs):
        pages = attachment.page_count or (pdf_page_count(attachment.data) if attachment.data else 1)
        return PDF_PAGE_TOKENS * pages
    if attachment.text is not None:
        size = len(attachment.text)
    elif attachment.is_pdf:
        size = len(extract_pdf_text(_bytes(attachment), None)[0])
    else:
        size = len(_bytes(attachment))
    tokens = math.ceil(size / CHARS_PER_TOKEN)
    return min(tokens, text_budget_tokens) if text_budget_tokens is not None else tokens


def _bytes(attachment: Attachment) -> bytes:
    if attachment.data is None:
        raise ValueError(f"{attachment.name}: the file's bytes are needed")
    return attachment.data


def _file_text(attachment: Attachment, max_chars: int) -> tuple[str, bool]:
    if attachment.text is not None:
        full = attachment.text
    elif attachment.is_pdf:
        return extract_pdf_text(_bytes(attachment), max_chars)
    else:
        full = _bytes(attachment).decode("utf-8", "replace")
    return (full[:max_chars], True) if len(full) > max_chars else (full, False)


def extract_pdf_text(data: bytes, max_chars: int | None) -> tuple[str, bool]:
    """The PDF's text, page by page, stopping once `max_chars` is reached; (text, was it cut)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    pieces: list[str] = []
    size = 0
    for page in reader.pages:
        piece = page.extract_text() or ""
        pieces.append(piece)
        size += len(piece) + 2
        if max_chars is not None and size > max_chars:
            return "\n\n".join(pieces)[:max_chars], True
    return "\n\n".join(pieces), False


def pdf_page_count(data: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


__all__ = [
    "IMAGE_TYPES",
    "PDF_TYPE",
    "Attachment",
    "CannotReadImages",
    "build_user_message",
    "estimate_tokens",
]
