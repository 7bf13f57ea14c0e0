"""The embedded model through the API: a new user with no API key chats with it at once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Api, parse_sse
from tests.fakes import files
from tests.llm.test_local import require_local_model


async def test_ola_quem_e_voce_streams_from_the_local_model(app_factory: Any, make_settings: Any) -> None:
    settings = make_settings(llm_provider="auto", google_api_key=None, local_max_tokens=24, local_threads=1)
    require_local_model(settings)
    app = await app_factory(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=60) as client:
        api = Api(client, app)
        health = (await client.get("/api/health")).json()
        assert (health["llm_provider"], health["llm_model"]) == ("local", "SmolLM2-135M-Instruct.Q4_1.gguf")
        headers = await api.user("ana@example.com")
        response = await client.post("/api/chat/stream", headers=headers, json={"message": "Olá! Quem é você?"})
    events = parse_sse(response.text)
    tokens = [data["text"] for name, data in events if name == "token"]
    assert len(tokens) >= 3
    done = next(data for name, data in events if name == "done")
    assert done["assistant_message"]["content"] == "".join(tokens)
    assert done["assistant_message"]["content"].strip()
    # The embedded model is not asked for titles (one generation at a time): the first words are used.
    assert events[-1] == ("title", {"conversation_id": events[0][1]["conversation_id"], "title": "Olá! Quem é você?"})


async def test_the_local_model_reads_a_pdf_as_text_in_the_users_turn_and_refuses_an_image(
    app_factory: Any, make_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 14: the embedded model cannot read images (422, nothing stored) and gets a PDF's text
    (pypdf) inside the same user turn as the message, as llama.cpp receives it."""
    settings = make_settings(llm_provider="auto", google_api_key=None, local_max_tokens=8, local_threads=1)
    require_local_model(settings)
    import llama_cpp

    received: list[list[dict[str, str]]] = []
    real = llama_cpp.Llama.create_chat_completion

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        received.append(kwargs["messages"])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(llama_cpp.Llama, "create_chat_completion", spy)
    app = await app_factory(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=60) as client:
        headers = await Api(client, app).user("ana@example.com")

        async def upload(name: str, data: bytes) -> int:
            response = await client.post("/api/uploads", headers=headers, files={"file": (name, data)})
            assert response.status_code == 201, response.text
            return int(response.json()["id"])

        photo = await upload("photo.png", files.image("PNG"))
        refused = await client.post(
            "/api/chat", headers=headers, json={"message": "What is it?", "attachment_ids": [photo]}
        )
        assert refused.status_code == 422
        assert refused.json()["code"] == "model_cannot_read_images"
        assert received == []

        lease = await upload("lease.pdf", files.pdf(text="The rent is 900 euros"))
        response = await client.post(
            "/api/chat", headers=headers, json={"message": "How much is the rent?", "attachment_ids": [lease]}
        )
        assert response.status_code == 200, response.text
    [messages] = received
    assert [message["role"] for message in messages] == ["system", "user"]
    turn = messages[-1]["content"]
    assert turn.startswith('File "lease.pdf":\nThe rent is 900 euros')
    assert turn.endswith("How much is the rent?")
