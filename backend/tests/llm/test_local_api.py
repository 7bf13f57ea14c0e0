"""The embedded model through the API: a new user with no API key chats with it at once."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Api, parse_sse
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
