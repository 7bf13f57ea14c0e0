"""An Ollama model that reads images is told apart from one that does not (`/api/show`'s
capabilities, or an image projector among its families on an older server), and its images reach
Ollama's own `/api/chat` through langchain-ollama, while PDFs still go as their text."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from app.llm.models import ModelCatalog
from tests.conftest import Api
from tests.fakes import files
from tests.fakes.ollama_server import FakeOllamaServer

MODELS = {"gemma3:4b": ["completion", "vision"], "qwen3:4b": ["completion", "tools"], "llava:7b": None}


@pytest.fixture
def ollama() -> Iterator[FakeOllamaServer]:
    with FakeOllamaServer(MODELS, families={"llava:7b": ["llama", "clip"]}) as server:
        yield server


async def test_the_model_list_says_which_ollama_models_read_images(
    make_settings: Any, ollama: FakeOllamaServer
) -> None:
    settings = make_settings(llm_provider="ollama", ollama_base_url=ollama.url, ollama_model="qwen3:4b")
    catalog = ModelCatalog.from_settings(settings, "ollama", "qwen3:4b")
    models = {m.id: m for m in await catalog.available()}
    assert {name: models[name].vision for name in MODELS} == {"gemma3:4b": True, "qwen3:4b": False, "llava:7b": True}
    assert not any(models[name].reads_pdfs for name in MODELS)  # a PDF reaches Ollama as its text
    assert sorted(ollama.shows) == sorted(MODELS)


@pytest.fixture
async def ollama_api(
    app_factory: Any, make_settings: Any, ollama: FakeOllamaServer
) -> AsyncIterator[tuple[Api, dict[str, str]]]:
    settings = make_settings(llm_provider="ollama", ollama_base_url=ollama.url, ollama_model="gemma3:4b")
    app = await app_factory(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=30) as client:
        api = Api(client, app)
        yield api, await api.user("ana@example.com")


async def upload(api: Api, headers: dict[str, str], name: str, data: bytes) -> int:
    response = await api.client.post("/api/uploads", headers=headers, files={"file": (name, data, "application/x")})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_an_image_reaches_an_ollama_vision_model_and_a_pdf_goes_as_its_text(
    ollama_api: Any, ollama: FakeOllamaServer
) -> None:
    api, headers = ollama_api
    # No model list was asked for first: the chat itself reads whether the model sees images.
    photo = await upload(api, headers, "receipt.png", files.image("PNG"))
    stored = (await api.client.get(f"/api/uploads/{photo}", headers=headers)).content
    contract = await upload(api, headers, "contract.pdf", files.pdf(text="Rent: 900 euros"))
    created = await api.client.post("/api/conversations", headers=headers, json={"title": "Ollama"})
    response = await api.client.post(
        "/api/chat",
        headers=headers,
        json={"conversation_id": created.json()["id"], "message": "What is this?", "attachment_ids": [photo, contract]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["assistant_message"]["content"] == "Uma resposta do Ollama."
    sent = ollama.chats[-1]
    assert sent["model"] == "gemma3:4b"
    question = sent["messages"][-1]
    assert question["role"] == "user"
    assert [base64.b64decode(image) for image in question["images"]] == [stored]
    assert 'File "contract.pdf"' in question["content"]
    assert "Rent: 900 euros" in question["content"]
    assert question["content"].endswith("What is this?")


async def test_an_image_to_an_ollama_model_without_vision_is_refused_before_anything_is_stored(
    ollama_api: Any, ollama: FakeOllamaServer
) -> None:
    api, headers = ollama_api
    created = await api.client.post("/api/conversations", headers=headers, json={"model": "qwen3:4b"})
    assert created.status_code == 201, created.text
    photo = await upload(api, headers, "receipt.png", files.image("PNG"))
    response = await api.client.post(
        "/api/chat",
        headers=headers,
        json={"conversation_id": created.json()["id"], "message": "What is this?", "attachment_ids": [photo]},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "model_cannot_read_images"
    assert ollama.chats == []
    messages = await api.client.get(f"/api/conversations/{created.json()['id']}/messages", headers=headers)
    assert messages.json()["items"] == []
