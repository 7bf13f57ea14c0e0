"""What models this server offers, and what each can do (GET /api/models, the settings checks).

The fixed part (Gemini, OpenAI-compatible, the embedded and fake models) is computed once from the
settings; Ollama's list comes from its server (`/api/tags`, and `/api/show` for whether a model
reads images), cached, and a server that is down leaves the last list known (or just OLLAMA_MODEL
when it is the default) in place.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any

from app.core.config import Settings

logger = logging.getLogger("app.llm")
OLLAMA_TIMEOUT_S = 2.0
OLLAMA_SHOW_MAX = 100  # models asked about one by one (concurrently) at each refresh
VISION_FAMILIES = frozenset({"clip", "mllama"})  # the image projectors of llava-style and Llama 3.2 Vision
_THINKING_GEMINI = re.compile(r"^gemini-(2\.5|[3-9])")


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str  # what conversations store in `model` and replies in `Message.model`
    provider: str  # gemini | openai | ollama | local | fake
    label: str
    vision: bool = False  # reads images (sent inline)
    reads_pdfs: bool = False  # reads PDFs itself; the others get their extracted text
    web_search: bool = False
    thinking: bool = False
    # Thinking can be turned off (a budget of 0); Gemini 2.5 Pro refuses that with a 400.
    can_stop_thinking: bool = False
    default: bool = False


def local_model_available(settings: Settings) -> bool:
    """Whether llama-cpp-python is installed and the model file exists (cheap: imports nothing)."""
    return importlib.util.find_spec("llama_cpp") is not None and settings.default_local_model_path.is_file()


def gemini_model(name: str) -> ModelInfo:
    thinks = bool(_THINKING_GEMINI.match(name))
    return ModelInfo(
        id=name,
        provider="gemini",
        label=_label(name),
        vision=True,
        reads_pdfs=True,
        web_search=True,
        thinking=thinks,
        can_stop_thinking=thinks and "pro" not in name,
    )


def _label(name: str) -> str:
    """`gemini-2.5-flash-lite` -> `Gemini 2.5 Flash Lite`."""
    return " ".join(word if word[:1].isdigit() else word.capitalize() for word in name.split("-"))


@dataclass
class ModelCatalog:
    """The models this server offers; `default_id` is the one LLM_PROVIDER chose."""

    settings: Settings
    default_provider: str
    default_id: str
    fixed: dict[str, ModelInfo] = field(default_factory=dict)
    _ollama: dict[str, ModelInfo] = field(default_factory=dict)
    _ollama_checked: float = float("-inf")
    _ollama_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, provider: str, default_id: str) -> ModelCatalog:
        catalog = cls(settings, provider, default_id)
        models: list[ModelInfo] = []
        key = settings.google_api_key
        if provider == "gemini" or (key is not None and key.get_secret_value()):
            names = dict.fromkeys([*settings.gemini_models, settings.default_gemini_model])
            models += [gemini_model(name) for name in names]
        openai_key = settings.openai_api_key
        if provider == "openai" or (openai_key is not None and openai_key.get_secret_value()):
            for name in dict.fromkeys([settings.openai_model, *settings.openai_models]):
                models.append(ModelInfo(name, "openai", name, vision=True, reads_pdfs=True))
        if provider == "local":
            models.append(ModelInfo(default_id, "local", f"{default_id} (on this server)"))
        elif local_model_available(settings):
            name = settings.default_local_model_path.name
            models.append(ModelInfo(name, "local", f"{name} (on this server)"))
        if provider == "fake" or settings.env == "development":
            models.append(ModelInfo("fake", "fake", "Fake (development)"))
        if provider == "ollama":  # until the server's own list is read
            catalog._ollama = {default_id: ModelInfo(default_id, "ollama", default_id)}
        for info in models:
            catalog.fixed.setdefault(info.id, info)
        return catalog

    @property
    def ollama_enabled(self) -> bool:
        return self.default_provider == "ollama" or self.settings.ollama_enabled

    def get(self, model_id: str) -> ModelInfo | None:
        """A model by id, from what is known now (never waits for Ollama)."""
        return self.fixed.get(model_id) or self._ollama.get(model_id)

    def default(self) -> ModelInfo:
        found = self.get(self.default_id)
        if found is not None:
            return found
        return ModelInfo(self.default_id, self.default_provider, self.default_id)

    def resolve(self, model_id: str | None) -> ModelInfo:
        """The model to answer with: `model_id` while it is offered, else the default."""
        if model_id is not None:
            found = self.get(model_id)
            if found is not None:
                return found
        return self.default()

    def known(self) -> list[ModelInfo]:
        models = [*self.fixed.values(), *(m for m in self._ollama.values() if m.id not in self.fixed)]
        return [replace(m, default=m.id == self.default_id) for m in models]

    async def available(self) -> list[ModelInfo]:
        """Every model offered, Ollama's list refreshed when its cache is stale."""
        if self.ollama_enabled:
            await self.refresh_ollama()
        return self.known()

    @property
    def ollama_read(self) -> bool:
        """Whether Ollama's list has been asked for yet (until then its default model is text-only)."""
        return self._ollama_checked != float("-inf")

    async def refresh_ollama(self) -> None:
        if time.monotonic() - self._ollama_checked < self.settings.ollama_tags_ttl_s:
            return
        async with self._ollama_lock:
            if time.monotonic() - self._ollama_checked < self.settings.ollama_tags_ttl_s:
                return
            listed = await fetch_ollama_tags(self.settings.ollama_base_url)
            # A failed read is retried after the TTL too: a server that is down is not asked per request.
            self._ollama_checked = time.monotonic()
            if listed is None:
                return
            found = {name: ModelInfo(name, "ollama", name, vision=vision) for name, vision in listed.items()}
            if self.default_provider == "ollama" and self.default_id not in found:
                found[self.default_id] = ModelInfo(self.default_id, "ollama", self.default_id)
            self._ollama = found


async def fetch_ollama_tags(base_url: str) -> dict[str, bool] | None:
    """The models an Ollama server has (`GET /api/tags`), each with whether it reads images, or None
    when the list cannot be read.

    Vision is what `POST /api/show` lists in `capabilities` (Ollama 0.6 and later); where that
    cannot be read, a `clip` or `mllama` projector among the model's families (older servers).
    """
    import httpx

    base = base_url.rstrip("/")
    try:
        async with httpx.AsyncClient(timeout=OLLAMA_TIMEOUT_S) as client:
            response = await client.get(f"{base}/api/tags")
            response.raise_for_status()
            models = [model for model in response.json().get("models", []) if model.get("name")]
            shown = await asyncio.gather(
                *(_ollama_capabilities(client, base, str(model["name"])) for model in models[:OLLAMA_SHOW_MAX])
            )
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
        logger.info("could not read the Ollama model list at %s: %s", base_url, type(exc).__name__)
        return None
    found: dict[str, bool] = {}
    for i, model in enumerate(models):
        capabilities = shown[i] if i < len(shown) else None
        if capabilities is None:
            families = (model.get("details") or {}).get("families") or []
            found[str(model["name"])] = any(family in VISION_FAMILIES for family in families)
        else:
            found[str(model["name"])] = "vision" in capabilities
    return found


async def _ollama_capabilities(client: Any, base: str, name: str) -> list[str] | None:
    """The model's `capabilities` from `/api/show`, or None when the server does not say."""
    import httpx

    try:
        response = await client.post(f"{base}/api/show", json={"model": name})
        response.raise_for_status()
        capabilities = response.json().get("capabilities")
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return [str(c) for c in capabilities] if isinstance(capabilities, list) else None
