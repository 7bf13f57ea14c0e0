"""The real langchain-google-genai client, through the app, against a fake Gemini server on localhost."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from app.services import attachments
from tests.conftest import Api, parse_sse
from tests.fakes import files
from tests.fakes.gemini_server import FakeGeminiServer


@pytest.fixture
def gemini() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer() as server:
        yield server


@pytest.fixture
async def gemini_api(
    app_factory: Any, make_settings: Any, gemini: FakeGeminiServer
) -> AsyncIterator[tuple[Api, dict[str, str]]]:
    settings = make_settings(
        llm_provider="gemini",
        google_api_key="test-key",
        gemini_base_url=gemini.url,
        llm_max_retries=1,
        llm_timeout_s=1.5,
        system_prompt="You are Conversa.",
    )
    app = await app_factory(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=30) as client:
        api = Api(client, app)
        yield api, await api.user("ana@example.com")


async def named_conversation(api: Api, headers: dict[str, str]) -> int:
    """A conversation with a title, so no title request competes for the scripted replies."""
    response = await api.client.post("/api/conversations", headers=headers, json={"title": "Gemini test"})
    return int(response.json()["id"])


async def test_chat_through_gemini_sends_system_prompt_and_history(gemini_api: Any, gemini: FakeGeminiServer) -> None:
    api, headers = gemini_api
    conversation_id = await named_conversation(api, headers)
    gemini.script(reply="Olá! Eu sou o Conversa.")
    first = await api.client.post(
        "/api/chat", headers=headers, json={"conversation_id": conversation_id, "message": "Olá! Quem é você?"}
    )
    assert first.status_code == 200, first.text
    assert first.json()["assistant_message"]["content"] == "Olá! Eu sou o Conversa."
    gemini.script(reply="Tudo bem.")
    await api.client.post(
        "/api/chat", headers=headers, json={"conversation_id": conversation_id, "message": "Tudo bem?"}
    )
    request = gemini.requests[-1]
    assert request.system_text == "You are Conversa."
    assert request.turns == [("user", "Olá! Quem é você?"), ("model", "Olá! Eu sou o Conversa."), ("user", "Tudo bem?")]


async def test_stream_through_gemini_delivers_every_chunk(gemini_api: Any, gemini: FakeGeminiServer) -> None:
    api, headers = gemini_api
    conversation_id = await named_conversation(api, headers)
    gemini.script(reply="Um dois três quatro cinco seis", n_chunks=3)
    response = await api.client.post(
        "/api/chat/stream", headers=headers, json={"conversation_id": conversation_id, "message": "conte"}
    )
    events = parse_sse(response.text)
    tokens = [data["text"] for name, data in events if name == "token"]
    assert len(tokens) == 3
    assert "".join(tokens) == "Um dois três quatro cinco seis"
    assert events[-1][0] == "done"
    assert gemini.requests[-1].stream


async def test_gemini_rate_limit_becomes_429_with_retry_after(gemini_api: Any, gemini: FakeGeminiServer) -> None:
    api, headers = gemini_api
    conversation_id = await named_conversation(api, headers)
    gemini.set_default(status=429, retry_delay="7s")
    response = await api.client.post(
        "/api/chat", headers=headers, json={"conversation_id": conversation_id, "message": "hi"}
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert "too many requests" in response.json()["detail"]
    stream = await api.client.post(
        "/api/chat/stream", headers=headers, json={"conversation_id": conversation_id, "message": "again"}
    )
    error = parse_sse(stream.text)[-1]
    assert error[0] == "error"
    assert error[1]["code"] == "model_rate_limited"
    messages = (await api.client.get(f"/api/conversations/{conversation_id}/messages", headers=headers)).json()["items"]
    assert [m["content"] for m in messages] == ["hi", "again"]  # the person's text is kept


async def test_gemini_server_error_becomes_502(gemini_api: Any, gemini: FakeGeminiServer) -> None:
    api, headers = gemini_api
    conversation_id = await named_conversation(api, headers)
    gemini.set_default(status=500)
    started = time.monotonic()
    response = await api.client.post(
        "/api/chat", headers=headers, json={"conversation_id": conversation_id, "message": "hi"}
    )
    assert response.status_code == 502
    assert "could not answer" in response.json()["detail"]
    assert time.monotonic() - started < 10  # few retries, not a minute of them


async def test_slow_gemini_times_out(gemini_api: Any, gemini: FakeGeminiServer) -> None:
    api, headers = gemini_api
    conversation_id = await named_conversation(api, headers)
    gemini.set_default(delay_s=5)
    started = time.monotonic()
    response = await api.client.post(
        "/api/chat", headers=headers, json={"conversation_id": conversation_id, "message": "hi"}
    )
    assert response.status_code == 504
    assert "too long" in response.json()["detail"]
    assert time.monotonic() - started < 4.5


async def test_gemini_cut_mid_stream_keeps_the_partial_reply(gemini_api: Any, gemini: FakeGeminiServer) -> None:
    api, headers = gemini_api
    conversation_id = await named_conversation(api, headers)
    gemini.script(reply="primeira parte segunda parte terceira parte", n_chunks=3, fail_after_chunks=2)
    response = await api.client.post(
        "/api/chat/stream", headers=headers, json={"conversation_id": conversation_id, "message": "go"}
    )
    events = parse_sse(response.text)
    assert [name for name, _ in events].count("token") == 2
    error = events[-1]
    assert error[0] == "error"
    partial = error[1]["assistant_message"]
    assert partial["status"] == "incomplete"
    assert partial["content"] == "".join(data["text"] for name, data in events if name == "token")


async def test_gemini_writes_the_title_after_the_first_exchange(gemini_api: Any, gemini: FakeGeminiServer) -> None:
    api, headers = gemini_api
    gemini.script(reply="A fotossíntese converte luz em energia.")
    gemini.script(reply="Fotossíntese explicada")
    response = await api.client.post(
        "/api/chat/stream", headers=headers, json={"message": "Como funciona a fotossíntese?"}
    )
    events = parse_sse(response.text)
    assert events[-1] == (
        "title",
        {"conversation_id": events[0][1]["conversation_id"], "title": "Fotossíntese explicada"},
    )


# -- attachments: the bytes arrive as inlineData parts with their type; earlier files stay in the history
async def upload_file(api: Any, headers: dict[str, str], name: str, data: bytes) -> int:
    response = await api.client.post("/api/uploads", headers=headers, files={"file": (name, data, "application/x")})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_images_and_pdfs_reach_gemini_as_inline_data(gemini_api: Any, gemini: FakeGeminiServer) -> None:
    api, headers = gemini_api
    conversation_id = await named_conversation(api, headers)
    photo = files.image("PNG")
    contract = files.pdf(text="Rent: 900 euros")
    ids = [
        await upload_file(api, headers, "receipt.png", photo),
        await upload_file(api, headers, "contract.pdf", contract),
    ]
    stored_photo = (await api.client.get(f"/api/uploads/{ids[0]}", headers=headers)).content  # EXIF stripped
    notes = await upload_file(api, headers, "notes.md", b"# Notes\nPay on the 5th.")
    gemini.script(reply="A receipt and a contract.")
    response = await api.client.post(
        "/api/chat",
        headers=headers,
        json={"conversation_id": conversation_id, "message": "What are these?", "attachment_ids": [*ids, notes]},
    )
    assert response.status_code == 200, response.text
    request = gemini.requests[-1]
    assert request.inline_parts == [("image/png", stored_photo), ("application/pdf", contract)]
    assert request.turns[-1][0] == "user"
    assert request.turns[-1][1].endswith('File "notes.md":\n# Notes\nPay on the 5th.What are these?')


async def test_earlier_files_are_sent_again_with_the_history(gemini_api: Any, gemini: FakeGeminiServer) -> None:
    api, headers = gemini_api
    conversation_id = await named_conversation(api, headers)
    photo_id = await upload_file(api, headers, "cat.png", files.image("PNG", color="blue"))
    stored = (await api.client.get(f"/api/uploads/{photo_id}", headers=headers)).content
    gemini.script(reply="A cat.")
    first = await api.client.post(
        "/api/chat",
        headers=headers,
        json={"conversation_id": conversation_id, "message": "", "attachment_ids": [photo_id]},
    )
    assert first.status_code == 200, first.text
    gemini.script(reply="Blue.")
    second = await api.client.post(
        "/api/chat", headers=headers, json={"conversation_id": conversation_id, "message": "What colour is it?"}
    )
    assert second.status_code == 200
    request = gemini.requests[-1]
    assert request.inline_parts == [("image/png", stored)]
    assert [role for role, _ in request.turns] == ["user", "model", "user"]
    assert request.turns[-1] == ("user", "What colour is it?")


async def test_images_and_pdfs_too_large_for_one_request_are_413_before_anything_is_stored(
    gemini_api: Any, gemini: FakeGeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, headers = gemini_api
    conversation_id = await named_conversation(api, headers)
    big, other = files.pdf(pages=12), files.pdf(pages=10)
    ids = [await upload_file(api, headers, "a.pdf", big), await upload_file(api, headers, "b.pdf", other)]
    notes = await upload_file(api, headers, "notes.txt", b"n" * 5000)  # text goes as text: not counted
    monkeypatch.setattr(attachments, "INLINE_REQUEST_BYTES", len(big) + len(other) - 1)
    refused = await api.client.post(
        "/api/chat",
        headers=headers,
        json={"conversation_id": conversation_id, "message": "Both?", "attachment_ids": [*ids, notes]},
    )
    assert refused.status_code == 413, refused.text
    assert refused.json()["code"] == "files_too_large"
    assert "in separate messages" in refused.json()["detail"]
    assert gemini.requests == []
    messages = await api.client.get(f"/api/conversations/{conversation_id}/messages", headers=headers)
    assert messages.json()["items"] == []
    monkeypatch.setattr(attachments, "INLINE_REQUEST_BYTES", len(big) + len(other))
    gemini.script(reply="Two PDFs.")
    sent = await api.client.post(
        "/api/chat",
        headers=headers,
        json={"conversation_id": conversation_id, "message": "Both?", "attachment_ids": [*ids, notes]},
    )
    assert sent.status_code == 200, sent.text  # the same files, once they fit: nothing was used up
    assert [mime for mime, _ in gemini.requests[-1].inline_parts] == ["application/pdf", "application/pdf"]


async def test_earlier_files_get_only_what_the_new_message_left_of_the_request(
    gemini_api: Any, gemini: FakeGeminiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, headers = gemini_api
    conversation_id = await named_conversation(api, headers)
    old, new = files.pdf(pages=10), files.pdf(pages=12)
    monkeypatch.setattr(attachments, "INLINE_REQUEST_BYTES", len(old) + len(new) - 1)
    for name, data in (("old.pdf", old), ("new.pdf", new)):
        gemini.script(reply=f"Read {name}.")
        upload_id = await upload_file(api, headers, name, data)
        response = await api.client.post(
            "/api/chat",
            headers=headers,
            json={"conversation_id": conversation_id, "message": name, "attachment_ids": [upload_id]},
        )
        assert response.status_code == 200, response.text
    request = gemini.requests[-1]
    assert request.inline_parts == [("application/pdf", new)]  # the old one no longer fits beside it
    assert request.turns[0][1].startswith('File "old.pdf":\n[not sent again')
