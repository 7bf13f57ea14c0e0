"""Models offered, per-conversation settings reaching the Gemini request, preferences and presets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.llm.models import ModelCatalog
from tests.conftest import Api, parse_sse
from tests.fakes.gemini_server import FakeGeminiServer


@pytest.fixture(autouse=True)
def no_embedded_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The model lists here do not depend on this machine: the embedded model is listed only when
    it is installed (`make local-model`, as on CI), so these tests run as if it were not."""
    monkeypatch.setattr("app.llm.models.local_model_available", lambda settings: False)


@pytest.fixture
def gemini() -> Iterator[FakeGeminiServer]:
    with FakeGeminiServer() as server:
        yield server


@pytest.fixture
async def gapi(app_factory: Any, make_settings: Any, gemini: FakeGeminiServer) -> AsyncIterator[Api]:
    settings = make_settings(
        llm_provider="gemini",
        google_api_key="test-key",
        gemini_base_url=gemini.url,
        llm_max_retries=1,
        llm_timeout_s=5,
        system_prompt="You are Conversa.",
    )
    app = await app_factory(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=30) as client:
        yield Api(client, app)


async def conversation(api: Api, headers: dict[str, str], **settings: Any) -> dict[str, Any]:
    response = await api.client.post("/api/conversations", headers=headers, json={"title": "Settings", **settings})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def say(api: Api, headers: dict[str, str], conversation_id: int, text: str = "Olá") -> dict[str, Any]:
    response = await api.client.post(
        "/api/chat", headers=headers, json={"conversation_id": conversation_id, "message": text}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


# -- GET /api/models -----------------------------------------------------------------------------
async def test_models_lists_gemini_models_with_capabilities_and_the_default(gapi: Api) -> None:
    headers = await gapi.user("ana@example.com")
    models = (await gapi.client.get("/api/models", headers=headers)).json()
    by_id = {m["id"]: m for m in models}
    assert list(by_id)[:3] == ["gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-pro"]
    assert [m["id"] for m in models if m["default"]] == ["gemini-2.5-flash"]
    assert by_id["gemini-2.5-pro"]["capabilities"] == {"vision": True, "web_search": True, "thinking": True}
    assert by_id["gemini-2.5-pro"]["provider"] == "gemini"
    assert by_id["fake"]["capabilities"] == {"vision": False, "web_search": False, "thinking": False}  # development


async def test_models_needs_a_login(gapi: Api) -> None:
    assert (await gapi.client.get("/api/models")).status_code == 401


def test_gemini_model_names_another_default(make_settings: Any) -> None:
    settings: Settings = make_settings(
        llm_provider="gemini", google_api_key="k", gemini_models="gemini-2.5-flash-lite, gemini-2.0-flash"
    )
    from app.llm import build_llm_service

    catalog = build_llm_service(settings).models()
    assert [m.id for m in catalog.known()] == ["gemini-2.5-flash-lite", "gemini-2.0-flash", "fake"]
    assert catalog.default().id == "gemini-2.5-flash-lite"
    assert catalog.get("gemini-2.0-flash") is not None
    assert not catalog.get("gemini-2.0-flash").thinking
    chosen = build_llm_service(make_settings(llm_provider="gemini", google_api_key="k", gemini_model="gemini-2.5-pro"))
    assert chosen.models().default().id == "gemini-2.5-pro"
    assert chosen.model_name == "gemini-2.5-pro"


def test_fake_model_is_offered_only_in_development(make_settings: Any) -> None:
    from app.llm import build_llm_service

    production = make_settings(env="production", secret_key="x" * 40, llm_provider="gemini", google_api_key="k")
    assert "fake" not in [m.id for m in build_llm_service(production).models().known()]


async def test_ollama_list_is_cached_and_survives_ollama_being_down(
    make_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.llm import models as models_module

    calls: list[str] = []
    answers: list[dict[str, bool] | None] = [{"llama3.2:latest": False, "qwen3:4b": False}, None]

    async def tags(base_url: str) -> dict[str, bool] | None:
        calls.append(base_url)
        return answers[len(calls) - 1]

    monkeypatch.setattr(models_module, "fetch_ollama_tags", tags)
    settings = make_settings(llm_provider="fake", ollama_enabled=True, ollama_tags_ttl_s=60)
    catalog = ModelCatalog.from_settings(settings, "fake", "fake")
    first = [m.id for m in await catalog.available()]
    assert first == ["fake", "llama3.2:latest", "qwen3:4b"]
    assert [m.id for m in await catalog.available()] == first
    assert len(calls) == 1
    catalog._ollama_checked = float("-inf")  # the cache expired, and Ollama is down now
    assert [m.id for m in await catalog.available()] == first
    assert len(calls) == 2


async def test_ollama_down_at_start_still_lists_the_rest(make_settings: Any) -> None:
    from tests.conftest import free_port

    settings = make_settings(ollama_enabled=True, ollama_base_url=f"http://127.0.0.1:{free_port()}")
    catalog = ModelCatalog.from_settings(settings, "fake", "fake")
    assert [m.id for m in await catalog.available()] == ["fake"]


# -- conversation settings reach the request ------------------------------------------------------
async def test_model_persona_and_temperature_of_the_conversation_reach_gemini(
    gapi: Api, gemini: FakeGeminiServer
) -> None:
    headers = await gapi.user("ana@example.com")
    created = await conversation(
        gapi, headers, model="gemini-2.5-pro", system_prompt="Você é um pirata.", temperature=0.3
    )
    assert (created["model"], created["system_prompt"], created["temperature"]) == (
        "gemini-2.5-pro",
        "Você é um pirata.",
        0.3,
    )
    reply = await say(gapi, headers, created["id"])
    request = gemini.generate_requests()[-1]
    assert request.model == "gemini-2.5-pro"
    assert request.system_text == "Você é um pirata."  # the persona replaces SYSTEM_PROMPT
    assert request.generation_config["temperature"] == pytest.approx(0.3)
    assert request.thinking_config is None  # 2.5 Pro cannot stop thinking: nothing asked
    assert reply["assistant_message"]["model"] == "gemini-2.5-pro"
    messages = (await gapi.client.get(f"/api/conversations/{created['id']}/messages", headers=headers)).json()
    assert messages["items"][-1]["model"] == "gemini-2.5-pro"


async def test_default_conversation_uses_server_prompt_and_default_model(gapi: Api, gemini: FakeGeminiServer) -> None:
    headers = await gapi.user("ana@example.com")
    created = await conversation(gapi, headers)
    assert created["model"] is None
    assert created["web_search"] is False
    reply = await say(gapi, headers, created["id"])
    request = gemini.generate_requests()[-1]
    assert request.model == "gemini-2.5-flash"
    assert request.system_text == "You are Conversa."
    assert request.thinking_config == {"thinkingBudget": 0}  # thinking off: a budget of 0
    assert request.tools == []
    assert reply["assistant_message"]["model"] == "gemini-2.5-flash"


async def test_patch_changes_the_model_of_the_next_turn(gapi: Api, gemini: FakeGeminiServer) -> None:
    headers = await gapi.user("ana@example.com")
    created = await conversation(gapi, headers)
    await say(gapi, headers, created["id"])
    patched = await gapi.client.patch(
        f"/api/conversations/{created['id']}", headers=headers, json={"model": "gemini-2.5-flash-lite"}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["model"] == "gemini-2.5-flash-lite"
    assert patched.json()["title"] == "Settings"
    reply = await say(gapi, headers, created["id"], "De novo")
    assert gemini.generate_requests()[-1].model == "gemini-2.5-flash-lite"
    assert reply["assistant_message"]["model"] == "gemini-2.5-flash-lite"
    # One client per model id, kept: the two models have their own.
    llm = gapi.app.state.context.llm
    assert set(llm._clients) == {"gemini-2.5-flash-lite"}
    assert llm.built_model is not None


async def test_unknown_model_and_missing_capability_are_422(api: Api, alice: dict[str, str]) -> None:
    unknown = await api.client.post("/api/conversations", headers=alice, json={"model": "gpt-9"})
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_model"
    assert "'gpt-9'" in unknown.json()["detail"]
    assert "fake" in unknown.json()["detail"]
    search = await api.client.post("/api/conversations", headers=alice, json={"model": "fake", "web_search": True})
    assert search.status_code == 422
    assert search.json()["code"] == "model_capability"
    assert "search the web" in search.json()["detail"]
    thinking = await api.client.post("/api/conversations", headers=alice, json={"thinking": True})
    assert thinking.status_code == 422
    assert thinking.json()["code"] == "model_capability"
    hot = await api.client.post("/api/conversations", headers=alice, json={"temperature": 2.5})
    assert hot.status_code == 422
    long = await api.client.post("/api/conversations", headers=alice, json={"system_prompt": "x" * 8001})
    assert long.status_code == 422
    assert (
        await api.client.post("/api/conversations", headers=alice, json={"system_prompt": "x" * 8000})
    ).status_code == 201
    created = (await api.client.post("/api/conversations", headers=alice, json={})).json()
    patched = await api.client.patch(f"/api/conversations/{created['id']}", headers=alice, json={"model": "nope"})
    assert patched.status_code == 422
    assert patched.json()["code"] == "unknown_model"


async def test_web_search_and_thinking_are_refused_on_gemini_models_without_them(
    app_factory: Any, make_settings: Any, gemini: FakeGeminiServer
) -> None:
    settings = make_settings(
        llm_provider="gemini", google_api_key="k", gemini_base_url=gemini.url, gemini_models="gemini-2.0-flash"
    )
    app = await app_factory(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        api = Api(client, app)
        headers = await api.user("ana@example.com")
        refused = await client.post("/api/conversations", headers=headers, json={"thinking": True})
        assert refused.status_code == 422
        assert "gemini-2.0-flash" in refused.json()["detail"]
        assert "none on this server" in refused.json()["detail"]
        allowed = await client.post("/api/conversations", headers=headers, json={"web_search": True})
        assert allowed.status_code == 201
        assert allowed.json()["web_search"] is True


# -- preferences --------------------------------------------------------------------------------
async def test_preferences_default_put_and_follow_new_conversations(gapi: Api, gemini: FakeGeminiServer) -> None:
    ana = await gapi.user("ana@example.com")
    bob = await gapi.user("bob@example.com")
    initial = (await gapi.client.get("/api/me/preferences", headers=ana)).json()
    assert initial == {
        "model": None,
        "system_prompt": None,
        "temperature": None,
        "web_search": False,
        "thinking": False,
        "language": None,
        "theme": "system",
    }
    wanted = {
        "model": "gemini-2.5-flash-lite",
        "system_prompt": "Responda como um poeta.",
        "temperature": 1.2,
        "web_search": True,
        "thinking": True,
        "language": "pt-BR",
        "theme": "dark",
    }
    put = await gapi.client.put("/api/me/preferences", headers=ana, json=wanted)
    assert put.status_code == 200, put.text
    assert (await gapi.client.get("/api/me/preferences", headers=ana)).json() == wanted
    assert (await gapi.client.get("/api/me/preferences", headers=bob)).json() == initial  # per user
    # A new conversation from the chat itself (no conversation id) takes them.
    response = await gapi.client.post("/api/chat", headers=ana, json={"message": "Olá"})
    assert response.status_code == 200, response.text
    request = gemini.generate_requests()[0]
    assert request.model == "gemini-2.5-flash-lite"
    assert request.system_text == "Responda como um poeta."
    assert request.generation_config["temperature"] == pytest.approx(1.2)
    conversation_id = response.json()["conversation_id"]
    stored = (await gapi.client.get(f"/api/conversations/{conversation_id}", headers=ana)).json()
    assert (stored["model"], stored["web_search"], stored["thinking"]) == ("gemini-2.5-flash-lite", True, True)
    # The request's own fields win over them.
    explicit = await conversation(gapi, ana, model="gemini-2.5-pro", web_search=False)
    assert (explicit["model"], explicit["web_search"], explicit["system_prompt"]) == (
        "gemini-2.5-pro",
        False,
        "Responda como um poeta.",
    )


async def test_preferences_are_checked(api: Api, alice: dict[str, str]) -> None:
    base = {"web_search": False, "thinking": False, "theme": "system"}
    assert (await api.client.put("/api/me/preferences", headers=alice, json={**base, "model": "x"})).status_code == 422
    searching = await api.client.put("/api/me/preferences", headers=alice, json={**base, "web_search": True})
    assert searching.status_code == 422
    assert searching.json()["code"] == "model_capability"
    assert (
        await api.client.put("/api/me/preferences", headers=alice, json={**base, "theme": "pink"})
    ).status_code == 422
    assert (
        await api.client.put("/api/me/preferences", headers=alice, json={**base, "language": "fr"})
    ).status_code == 422
    assert (await api.client.put("/api/me/preferences", headers=alice, json={**base, "extra": 1})).status_code == 422


# -- presets ------------------------------------------------------------------------------------
async def test_presets_crud_and_isolation(api: Api, alice: dict[str, str], bob: dict[str, str]) -> None:
    created = await api.client.post(
        "/api/presets",
        headers=bob,
        json={"name": "Tradutor", "system_prompt": "Traduza para inglês.", "temperature": 0.2},
    )
    assert created.status_code == 201, created.text
    preset = created.json()
    assert (preset["name"], preset["mine"], preset["shared"], preset["model"]) == ("Tradutor", True, False, None)
    listed = (await api.client.get("/api/presets", headers=bob)).json()
    assert [p["id"] for p in listed] == [preset["id"]]
    patched = await api.client.patch(
        f"/api/presets/{preset['id']}", headers=bob, json={"name": "Tradutora", "temperature": None}
    )
    assert patched.status_code == 200
    assert (patched.json()["name"], patched.json()["temperature"]) == ("Tradutora", None)
    # Another user's preset does not exist for alice (even an administrator's view of a private one).
    assert (await api.client.get("/api/presets", headers=alice)).json() == []
    assert (await api.client.get(f"/api/presets/{preset['id']}", headers=alice)).status_code == 404
    assert (
        await api.client.patch(f"/api/presets/{preset['id']}", headers=alice, json={"name": "x"})
    ).status_code == 404
    assert (await api.client.delete(f"/api/presets/{preset['id']}", headers=alice)).status_code == 404
    from_other = await api.client.post("/api/conversations", headers=alice, json={"preset_id": preset["id"]})
    assert from_other.status_code == 404
    assert (await api.client.delete(f"/api/presets/{preset['id']}", headers=bob)).status_code == 204
    assert (await api.client.get("/api/presets", headers=bob)).json() == []


async def test_presets_are_checked(api: Api, bob: dict[str, str]) -> None:
    bad_model = await api.client.post(
        "/api/presets", headers=bob, json={"name": "x", "system_prompt": "y", "model": "nope"}
    )
    assert bad_model.status_code == 422
    searching = await api.client.post(
        "/api/presets", headers=bob, json={"name": "x", "system_prompt": "y", "web_search": True}
    )
    assert searching.status_code == 422
    assert (
        await api.client.post("/api/presets", headers=bob, json={"name": " ", "system_prompt": "y"})
    ).status_code == 422
    too_long = {"name": "x", "system_prompt": "y" * 8001}
    assert (await api.client.post("/api/presets", headers=bob, json=too_long)).status_code == 422


async def test_only_an_admin_shares_a_preset_and_everyone_sees_it(
    api: Api, alice: dict[str, str], bob: dict[str, str]
) -> None:
    refused = await api.client.post(
        "/api/presets", headers=bob, json={"name": "Mine", "system_prompt": "p", "shared": True}
    )
    assert refused.status_code == 403
    shared = await api.client.post(
        "/api/presets", headers=alice, json={"name": "Revisor", "system_prompt": "Revise o texto.", "shared": True}
    )
    assert shared.status_code == 201
    seen = (await api.client.get("/api/presets", headers=bob)).json()
    assert [(p["name"], p["mine"], p["shared"]) for p in seen] == [("Revisor", False, True)]
    assert (await api.client.patch(f"/api/presets/{seen[0]['id']}", headers=bob, json={"name": "x"})).status_code == 404
    assert (await api.client.delete(f"/api/presets/{seen[0]['id']}", headers=bob)).status_code == 404


async def test_a_chat_started_from_a_preset_copies_its_settings(gapi: Api, gemini: FakeGeminiServer) -> None:
    headers = await gapi.user("ana@example.com")
    preset = (
        await gapi.client.post(
            "/api/presets",
            headers=headers,
            json={
                "name": "Pirata",
                "system_prompt": "Fale como pirata.",
                "model": "gemini-2.5-pro",
                "temperature": 1.5,
            },
        )
    ).json()
    created = await conversation(gapi, headers, preset_id=preset["id"])
    assert (created["model"], created["system_prompt"], created["temperature"]) == (
        "gemini-2.5-pro",
        "Fale como pirata.",
        1.5,
    )
    await say(gapi, headers, created["id"])
    request = gemini.generate_requests()[-1]
    assert (request.model, request.system_text) == ("gemini-2.5-pro", "Fale como pirata.")
    # Copied, not linked: changing the preset leaves the conversation as it was.
    await gapi.client.patch(f"/api/presets/{preset['id']}", headers=headers, json={"system_prompt": "Outro."})
    again = (await gapi.client.get(f"/api/conversations/{created['id']}", headers=headers)).json()
    assert again["system_prompt"] == "Fale como pirata."
    with_override = await conversation(gapi, headers, preset_id=preset["id"], temperature=0.1)
    assert with_override["temperature"] == 0.1


async def test_a_new_chat_takes_its_settings_from_the_chat_request(gapi: Api, gemini: FakeGeminiServer) -> None:
    headers = await gapi.user("ana@example.com")
    preset = (
        await gapi.client.post("/api/presets", headers=headers, json={"name": "P", "system_prompt": "Seja breve."})
    ).json()
    response = await gapi.client.post(
        "/api/chat",
        headers=headers,
        json={"message": "Olá", "settings": {"model": "gemini-2.5-pro", "web_search": True, "preset_id": preset["id"]}},
    )
    assert response.status_code == 200, response.text
    request = gemini.generate_requests()[0]
    assert (request.model, request.system_text, request.tools) == (
        "gemini-2.5-pro",
        "Seja breve.",
        [{"googleSearch": {}}],
    )
    conversation_id = response.json()["conversation_id"]
    stored = (await gapi.client.get(f"/api/conversations/{conversation_id}", headers=headers)).json()
    assert (stored["model"], stored["web_search"], stored["system_prompt"]) == ("gemini-2.5-pro", True, "Seja breve.")


async def test_chat_request_settings_are_checked_before_anything_is_stored(api: Api, alice: dict[str, str]) -> None:
    unknown = await api.client.post("/api/chat", headers=alice, json={"message": "x", "settings": {"model": "nope"}})
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "unknown_model"
    existing = (await api.client.post("/api/conversations", headers=alice, json={})).json()
    both = await api.client.post(
        "/api/chat", headers=alice, json={"conversation_id": existing["id"], "message": "x", "settings": {}}
    )
    assert both.status_code == 422
    listed = (await api.client.get("/api/conversations", headers=alice)).json()
    assert listed["total"] == 1  # only the one created above


async def test_regenerating_after_a_model_change_is_a_sibling_from_the_new_model(
    gapi: Api, gemini: FakeGeminiServer
) -> None:
    headers = await gapi.user("ana@example.com")
    created = await conversation(gapi, headers)
    first = await say(gapi, headers, created["id"])
    await gapi.client.patch(f"/api/conversations/{created['id']}", headers=headers, json={"model": "gemini-2.5-pro"})
    response = await gapi.client.post(f"/api/conversations/{created['id']}/regenerate", headers=headers, json={})
    done = dict(parse_sse(response.text))["done"]["assistant_message"]
    assert gemini.generate_requests()[-1].model == "gemini-2.5-pro"
    assert done["model"] == "gemini-2.5-pro"
    assert done["siblings"]["ids"] == [first["assistant_message"]["id"], done["id"]]
    assert first["assistant_message"]["model"] == "gemini-2.5-flash"


async def test_ollama_models_come_from_its_tags_endpoint(make_settings: Any) -> None:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Tags(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"models": [{"name": "qwen3:4b", "size": 1}, {"name": "llama3.2:latest"}]}).encode()
            status = 200 if self.path == "/api/tags" else 404
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tags)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        catalog = ModelCatalog.from_settings(
            make_settings(llm_provider="ollama", ollama_base_url=url, ollama_model="llama3.2:latest"),
            "ollama",
            "llama3.2:latest",
        )
        models = {m.id: m for m in await catalog.available()}
        assert set(models) == {"qwen3:4b", "llama3.2:latest", "fake"}
        assert models["llama3.2:latest"].default
        assert models["qwen3:4b"].provider == "ollama"
        assert not models["qwen3:4b"].web_search
    finally:
        server.shutdown()


async def test_null_switches_and_a_blank_persona_are_the_defaults(api: Api, alice: dict[str, str]) -> None:
    body = {"web_search": None, "thinking": None, "system_prompt": "  "}
    created = await api.client.post("/api/conversations", headers=alice, json=body)
    assert created.status_code == 201, created.text
    assert (created.json()["web_search"], created.json()["thinking"], created.json()["system_prompt"]) == (
        False,
        False,
        None,
    )
    chat = await api.client.post("/api/chat", headers=alice, json={"message": "oi", "settings": body})
    assert chat.status_code == 200, chat.text
