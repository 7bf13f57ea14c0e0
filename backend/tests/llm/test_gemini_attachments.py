"""Attachments through the real langchain-google-genai client to the fake Gemini server: the bytes
arrive as `inlineData` parts with their type, and earlier turns' files stay in the history."""

from __future__ import annotations

from typing import Any

from tests.fakes import files
from tests.fakes.gemini_server import FakeGeminiServer
from tests.llm.test_gemini import gemini, gemini_api, named_conversation  # noqa: F401 - fixtures


async def upload(api: Any, headers: dict[str, str], name: str, data: bytes) -> int:
    response = await api.client.post("/api/uploads", headers=headers, files={"file": (name, data, "application/x")})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_images_and_pdfs_reach_gemini_as_inline_data(gemini_api: Any, gemini: FakeGeminiServer) -> None:
    api, headers = gemini_api
    conversation_id = await named_conversation(api, headers)
    photo = files.image("PNG")
    contract = files.pdf(text="Rent: 900 euros")
    ids = [await upload(api, headers, "receipt.png", photo), await upload(api, headers, "contract.pdf", contract)]
    stored_photo = (await api.client.get(f"/api/uploads/{ids[0]}", headers=headers)).content  # EXIF stripped
    notes = await upload(api, headers, "notes.md", b"# Notes\nPay on the 5th.")
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
    photo_id = await upload(api, headers, "cat.png", files.image("PNG", color="blue"))
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
