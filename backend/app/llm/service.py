"""The one interface the app uses for the model: stream a reply, answer at once, make a title."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio

from app.core import metrics
from app.core.config import Settings
from app.core.stall import StallTimeout
from app.llm.errors import LLMConfigError, LLMError, LLMRateLimited, LLMTimeout
from app.llm.models import ModelCatalog, ModelInfo
from app.llm.prompts import TITLE_INSTRUCTION, TITLE_MAX_CHARS
from app.llm.streaming import stream_chunks
from app.llm.types import ChatTurn, GenerationOptions, ReplyExtras, ReplySettings, Thought, TokenUsage

if TYPE_CHECKING:  # LangChain itself is imported on the first chat (with a remote provider)
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

logger = logging.getLogger("app.llm")
TITLE_TIMEOUT_S = 15.0
CLOSE_TIMEOUT_S = 5.0


@dataclass
class LLMService:
    built_model: BaseChatModel | None  # None until `factory` has built it (on first use)
    provider: str
    model_name: str
    settings: Settings
    warnings: list[str] = field(default_factory=list)
    # The embedded model serves one generation at a time: titles would queue behind replies.
    llm_titles: bool = True
    factory: Callable[[], BaseChatModel] | None = None
    _building: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    catalog: ModelCatalog | None = None  # every model offered (None: only the default one)
    # One chat client per other model id, built on its first use (the default one is `built_model`).
    _clients: dict[str, BaseChatModel] = field(default_factory=dict, repr=False)

    @property
    def model(self) -> BaseChatModel:
        if self.built_model is None:
            assert self.factory is not None
            self.built_model = self.factory()
        return self.built_model

    async def ready_model(self) -> BaseChatModel:
        """The chat model, built off the event loop on first use."""
        if self.built_model is None:
            async with self._building:
                if self.built_model is None:
                    assert self.factory is not None
                    self.built_model = await asyncio.to_thread(self.factory)
        return self.built_model

    def models(self) -> ModelCatalog:
        if self.catalog is None:
            self.catalog = ModelCatalog(self.settings, self.provider, self.model_name)
        return self.catalog

    def resolve(self, model_id: str | None) -> ModelInfo:
        """The model a turn uses: its conversation's while this server offers it, else the default."""
        if model_id is None or model_id == self.model_name:
            return self.models().default()
        return self.models().resolve(model_id)

    async def vision_for(self, model_id: str | None) -> bool:
        """Whether the model a turn would use reads images (Gemini, OpenAI, an Ollama vision model).

        An Ollama model's answer needs its server's list: read once here when nothing has asked yet
        (a chat sent before anyone opened the model picker), never per turn afterwards.
        """
        info = self.resolve(model_id)
        catalog = self.models()
        if info.provider == "ollama" and not catalog.ollama_read:
            await catalog.refresh_ollama()
            info = self.resolve(model_id)
        return info.vision

    async def client_for(self, info: ModelInfo) -> BaseChatModel:
        """The chat client of `info`'s model, built (off the event loop) on its first use, then kept."""
        if info.id == self.model_name and info.provider == self.provider:
            return await self.ready_model()
        client = self._clients.get(info.id)
        if client is None:
            async with self._building:
                client = self._clients.get(info.id)
                if client is None:
                    client = await asyncio.to_thread(build_chat_client, self.settings, info)
                    self._clients[info.id] = client
        return client

    def ensure_capacity(self) -> None:
        """Raise LLMBusy when the provider cannot take another request now (the local model's queue)."""
        check = getattr(self.built_model, "ensure_capacity", None)
        if check is not None:
            check()

    def prompt_for(
        self, history: Sequence[ChatTurn], system_prompt: str | None = None, info: ModelInfo | None = None
    ) -> list[BaseMessage]:
        from app.llm.history import build_prompt

        info = info if info is not None else self.models().default()
        budget = self.settings.chat_history_tokens
        if info.provider == "local":
            # A small context window, and prompt processing on CPU costs ~7 ms a token.
            budget = min(budget, self.settings.local_context // 2)
        system = self.settings.system_prompt if system_prompt is None else system_prompt
        return build_prompt(system, history, budget, vision=info.vision, pdfs=info.reads_pdfs)

    async def stream_reply(
        self,
        history: Sequence[ChatTurn],
        *,
        system_prompt: str | None = None,
        options: GenerationOptions | None = None,
        usage: TokenUsage | None = None,
        reply: ReplySettings | None = None,
    ) -> AsyncGenerator[str, None]:
        """Yield text deltas; raise LLMError subclasses a person can understand.

        `system_prompt` replaces SYSTEM_PROMPT for this call; `options` are passed to the provider
        under its own names; `usage`, when given, is filled in as the reply streams; `reply`: the
        conversation's settings (its model, persona, temperature, search and thinking).
        """
        parts = self.stream_parts(history, system_prompt=system_prompt, options=options, usage=usage, reply=reply)
        async with contextlib.aclosing(parts):
            async for part in parts:
                if type(part) is str:
                    yield part

    async def stream_parts(
        self,
        history: Sequence[ChatTurn],
        *,
        system_prompt: str | None = None,
        options: GenerationOptions | None = None,
        usage: TokenUsage | None = None,
        reply: ReplySettings | None = None,
        extras: ReplyExtras | None = None,
    ) -> AsyncGenerator[str | Thought, None]:
        """`stream_reply`, with the thought summary's pieces as `Thought`s among the text deltas;
        `extras`, when given, receives the grounding metadata."""
        timeout = self.settings.llm_timeout_s
        info = self.resolve(reply.model if reply is not None else None)
        if reply is not None:
            if system_prompt is None:
                system_prompt = reply.system_prompt
            if reply.temperature is not None and (options is None or options.temperature is None):
                options = replace(options or GenerationOptions(), temperature=reply.temperature)
        try:
            model = await self.client_for(info)
        except Exception as exc:
            logger.exception("could not build the %s chat model", info.provider)
            raise LLMError() from exc
        if any(turn.attachments for turn in history):  # PDF text and base64 take CPU: off the event loop
            prompt = await asyncio.to_thread(self.prompt_for, history, system_prompt, info)
        else:
            prompt = self.prompt_for(history, system_prompt, info)
        kwargs = call_options(info.provider, options, self.settings, with_usage=usage is not None)
        if reply is not None:
            kwargs.update(reply_options(info, reply, self.settings))
        if options and options.stop:
            kwargs["stop"] = list(options.stop)
        stream = stream_chunks(model, prompt, **kwargs).__aiter__()  # keeps no chunk (app.llm.streaming)
        # The timeout bounds the wait for each chunk, so a long but steady reply is fine.
        stall = StallTimeout(timeout)
        reported = TokenUsage(estimated=False)
        completion_chars = 0
        # Metrics (app.core.metrics): observed once when the generation ends; per token, only the first's time.
        started, first_at, outcome, error_code = time.perf_counter(), None, "cancelled", None
        try:
            while True:
                try:
                    with stall:
                        chunk = await anext(stream)
                except StopAsyncIteration:
                    outcome = "complete"
                    return
                if usage is not None and _cut_by_length(chunk):
                    usage.hit_max_tokens = True
                counts = getattr(chunk, "usage_metadata", None)
                if counts:  # LangChain reports per-chunk deltas (summed when chunks are added)
                    reported.prompt_tokens += int(counts.get("input_tokens", 0))
                    reported.completion_tokens += int(counts.get("output_tokens", 0))
                    details = counts.get("output_token_details") or {}
                    reported.reasoning_tokens += int(details.get("reasoning", 0) or 0)
                if extras is not None:  # grounding comes with the last chunks, text or not
                    grounding = chunk.response_metadata.get("grounding_metadata")
                    if grounding:
                        extras.grounding = grounding
                content = chunk.content
                if type(content) is str:  # the usual chunk: plain text
                    if content:
                        if first_at is None:
                            first_at = time.perf_counter()
                        completion_chars += len(content)
                        yield content
                    continue
                for part in chunk_parts(content):
                    if first_at is None:
                        first_at = time.perf_counter()
                    if type(part) is str:
                        completion_chars += len(part)
                    yield part
        except LLMError as exc:
            outcome, error_code = "error", exc.code
            raise
        except TimeoutError as exc:
            logger.warning("llm timeout provider=%s after=%ss", info.provider, timeout)
            outcome, error_code = "error", LLMTimeout.code
            raise LLMTimeout() from exc
        except Exception as exc:
            error = translate_error(exc, info.provider)
            outcome, error_code = "error", error.code
            raise error from exc
        finally:
            stall.close()
            if usage is not None:  # also for a reply cut short: the tokens were spent
                _fill_usage(usage, reported, prompt, completion_chars)
            counted = usage if usage is not None else reported
            metrics.observe_generation(
                info.provider,
                info.id,
                started,
                first_at,
                outcome,
                error_code,
                counted.prompt_tokens,
                counted.completion_tokens,
            )
            # Shielded: when the request is cancelled (the client left), the model must still stop.
            with anyio.move_on_after(CLOSE_TIMEOUT_S, shield=True):
                await _close(stream)

    async def complete(self, history: Sequence[ChatTurn]) -> str:
        return "".join([delta async for delta in self.stream_reply(history)])

    async def generate_title(self, user_text: str, reply_text: str, *, usage: TokenUsage | None = None) -> str:
        """A short title in the user's language; the first words of the message when the model fails.

        `usage`, when given, gets the tokens the title cost (none when no model was asked).
        """
        fallback = fallback_title(user_text)
        if not self.llm_titles:
            return fallback
        from langchain_core.messages import HumanMessage, SystemMessage

        messages: list[BaseMessage] = [
            SystemMessage(TITLE_INSTRUCTION),
            HumanMessage(f"User: {user_text[:1000]}\n\nAssistant: {reply_text[:1000]}"),
        ]
        try:
            async with asyncio.timeout(TITLE_TIMEOUT_S):
                result = await (await self.ready_model()).ainvoke(messages)
        except Exception as exc:  # a title is a nicety: any failure falls back
            logger.info("title generation failed provider=%s error=%s", self.provider, type(exc).__name__)
            return fallback
        text = chunk_text(result)
        if usage is not None:
            reported = _reported_usage(result)
            _fill_usage(usage, reported, messages, len(text))
            metrics.count_tokens(self.model_name, usage.prompt_tokens, usage.completion_tokens, "title")
        return clean_title(text) or fallback


def call_options(
    provider: str, options: GenerationOptions | None, settings: Settings, *, with_usage: bool = False
) -> dict[str, Any]:
    """The options of one call, under each provider's own names (LangChain passes them through)."""
    kwargs: dict[str, Any] = {"stream_usage": True} if with_usage and provider == "openai" else {}
    if options is None:
        return kwargs
    chosen: dict[str, Any]
    common = {"temperature": options.temperature, "top_p": options.top_p, "seed": options.seed}
    if provider in ("openai", "local", "fake"):
        max_tokens = options.max_tokens
        if provider == "local" and max_tokens is not None:
            max_tokens = min(max_tokens, settings.local_max_tokens)  # the embedded model's own cap stays
        chosen = {**common, "max_tokens": max_tokens}
    elif provider == "gemini":
        chosen = {**common, "max_output_tokens": options.max_tokens}
    elif provider == "ollama":
        # Ollama takes them in one `options` object (which replaces the model's own, all unset here).
        present = {key: value for key, value in common.items() if value is not None}
        if options.max_tokens is not None:
            present["num_predict"] = options.max_tokens
        chosen = {"options": present} if present else {}
    else:
        chosen = {}
    kwargs.update({key: value for key, value in chosen.items() if value is not None})
    return kwargs


# How each provider says "cut at max_tokens": OpenAI and Ollama `length`, Gemini `MAX_TOKENS`.
_LENGTH_REASONS = {"length", "MAX_TOKENS", "max_tokens"}


def _cut_by_length(chunk: Any) -> bool:
    metadata = getattr(chunk, "response_metadata", None) or {}
    reason = metadata.get("finish_reason") or metadata.get("done_reason")
    return isinstance(reason, str) and reason in _LENGTH_REASONS


def _reported_usage(message: Any) -> TokenUsage:
    """The counts a whole (not streamed) answer carries, when the provider reported them."""
    counts = getattr(message, "usage_metadata", None) or {}
    details = counts.get("output_token_details") or {}
    return TokenUsage(
        int(counts.get("input_tokens", 0)),
        int(counts.get("output_tokens", 0)),
        int(details.get("reasoning", 0) or 0),
        estimated=False,
    )


def _fill_usage(usage: TokenUsage, reported: TokenUsage, prompt: list[BaseMessage], completion_chars: int) -> None:
    if reported.prompt_tokens or reported.completion_tokens:
        usage.prompt_tokens, usage.completion_tokens, usage.reasoning_tokens, usage.estimated = (
            reported.prompt_tokens,
            reported.completion_tokens,
            reported.reasoning_tokens,
            False,
        )
        return
    from langchain_core.messages.utils import count_tokens_approximately

    # No counts from the provider (the fake and local models, some servers): ~4 characters a token.
    usage.prompt_tokens = count_tokens_approximately(prompt)
    usage.completion_tokens = -(-completion_chars // 4)
    usage.estimated = True


def reply_options(info: ModelInfo, reply: ReplySettings, settings: Settings) -> dict[str, Any]:
    """Search and thinking, under Gemini's names (the other providers have neither)."""
    kwargs: dict[str, Any] = {}
    if info.provider != "gemini":
        return kwargs
    if reply.web_search and info.web_search:
        kwargs["tools"] = [{"google_search": {}}]
    if info.thinking:
        if reply.thinking:
            kwargs["include_thoughts"] = True
            kwargs["thinking_budget"] = settings.gemini_thinking_budget
        elif info.can_stop_thinking:
            kwargs["thinking_budget"] = 0  # cheaper and faster; 2.5 Pro refuses 0, so it gets nothing
    return kwargs


def chunk_parts(content: Any) -> list[str | Thought]:
    """A chunk's content blocks as text pieces and `Thought`s, in order (empty ones left out)."""
    if not isinstance(content, list):
        return []
    parts: list[str | Thought] = []
    for block in content:
        if isinstance(block, str):
            if block:
                parts.append(block)
        elif block.get("type") == "text":
            text = str(block.get("text", ""))
            if text:
                parts.append(text)
        elif block.get("type") in ("thinking", "reasoning"):
            thought = str(block.get("thinking") or block.get("reasoning") or "")
            if thought:
                parts.append(Thought(thought))
    return parts


def chunk_text(chunk: Any) -> str:
    content = getattr(chunk, "content", chunk)
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks (Gemini thinking models, ...)
        return "".join(
            block if isinstance(block, str) else str(block.get("text", ""))
            for block in content
            if isinstance(block, str) or block.get("type") == "text"
        )
    return ""


def clean_title(text: str) -> str:
    title = " ".join(text.replace("*", "").replace("#", "").split()).strip(" \"'“”«».:")
    return title[:TITLE_MAX_CHARS].rstrip()


def fallback_title(user_text: str) -> str:
    words = " ".join(user_text.split())
    if len(words) <= TITLE_MAX_CHARS:
        return words or "New chat"
    cut = words[:TITLE_MAX_CHARS].rsplit(" ", 1)[0]
    return f"{cut}…"


async def _close(stream: AsyncIterator[Any]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        # Closing a failed stream may raise again; the first error is the one that matters.
        with contextlib.suppress(Exception):
            await aclose()


_RETRY_DELAY = re.compile(r"retry(?:Delay| in)['\":\s]*([0-9.]+)\s*s", re.IGNORECASE)


def _status_of(exc: BaseException) -> int | None:
    for candidate in (exc, exc.__cause__, exc.__context__):
        if candidate is None:
            continue
        for attr in ("status_code", "code", "status"):
            value = getattr(candidate, attr, None)
            if isinstance(value, int) and 100 <= value < 600:
                return value
        response = getattr(candidate, "response", None)
        value = getattr(response, "status_code", None)
        if isinstance(value, int):
            return value
    return None


def _retry_after(exc: BaseException) -> float | None:
    for candidate in (exc, exc.__cause__):
        if candidate is None:
            continue
        for attr in ("retry_after", "retry_delay"):
            value = getattr(candidate, attr, None)
            if isinstance(value, int | float):
                return float(value)
        match = _RETRY_DELAY.search(str(candidate))
        if match:
            return float(match.group(1))
    return None


def translate_error(exc: BaseException, provider: str) -> LLMError:
    """Map a provider's exception to an LLMError; the cause is logged, never shown to the user."""
    names = {type(e).__name__ for e in (exc, exc.__cause__, exc.__context__) if e is not None}
    status = _status_of(exc)
    if status == 429 or any("RateLimit" in name for name in names):
        error: LLMError = LLMRateLimited(retry_after=_retry_after(exc))
    elif status in (408, 504) or any("Timeout" in name for name in names):
        error = LLMTimeout()
    else:
        error = LLMError()
    logger.warning(
        "llm error provider=%s code=%s status=%s cause=%s: %s",
        provider,
        error.code,
        status,
        type(exc).__name__,
        str(exc)[:300],
    )
    return error


def resolve_provider(settings: Settings) -> tuple[str, list[str]]:
    """The provider to use and the warnings to show (auto: gemini, else local, else fake)."""
    if settings.llm_provider != "auto":
        return settings.llm_provider, []
    if settings.google_api_key is not None and settings.google_api_key.get_secret_value():
        return "gemini", []
    from app.llm.models import local_model_available

    if local_model_available(settings):
        return "local", []
    warning = (
        "No GOOGLE_API_KEY and no local model installed: using the fake development model. "
        "Run `make local-model` or set GOOGLE_API_KEY for real answers."
    )
    logger.warning(warning)
    return "fake", [warning]


def _secret(value: Any, name: str) -> str:
    if value is None or not value.get_secret_value():
        raise LLMConfigError(f"{name} must be set for this LLM_PROVIDER")
    return str(value.get_secret_value())


def build_llm_service(settings: Settings) -> LLMService:
    """Build the chat model chosen by the settings (called once, in the app's lifespan)."""
    provider, warnings = resolve_provider(settings)
    service = _default_service(settings, provider, warnings)
    service.catalog = ModelCatalog.from_settings(settings, provider, service.model_name)
    return service


def _default_service(settings: Settings, provider: str, warnings: list[str]) -> LLMService:
    if provider == "fake":
        return LLMService(
            build_chat_client(settings, ModelInfo("fake", "fake", "fake")), "fake", "fake", settings, warnings
        )
    if provider == "local":
        name = settings.default_local_model_path.name
        model = build_chat_client(settings, ModelInfo(name, "local", name))
        return LLMService(model, "local", name, settings, warnings, llm_titles=False)
    # The remote providers' client libraries are heavy (langchain_google_genai: ~25 MB, 0.5 s to
    # import): the key is checked now, the client is built on the first chat.
    names = {"gemini": settings.default_gemini_model, "openai": settings.openai_model, "ollama": settings.ollama_model}
    if provider not in names:  # pragma: no cover - guarded by the Literal setting
        raise LLMConfigError(f"Unknown LLM_PROVIDER {provider!r}")
    name = names[provider]
    factory = client_factory(settings, ModelInfo(name, provider, name))
    return LLMService(None, provider, name, settings, warnings, factory=factory)


def build_chat_client(settings: Settings, info: ModelInfo) -> BaseChatModel:
    """A LangChain chat client for one model of the catalog."""
    return client_factory(settings, info)()


def client_factory(settings: Settings, info: ModelInfo) -> Callable[[], BaseChatModel]:
    """What builds `info`'s chat client; the keys are checked now, the client is built when called."""
    retries = settings.llm_max_retries
    timeout = settings.llm_timeout_s
    if info.provider == "fake":
        from app.llm.fake import FakeChatModel

        return partial(FakeChatModel, delay_s=settings.fake_llm_delay_ms / 1000)
    if info.provider == "local":
        from app.llm.local import build_local_chat_model

        return partial(build_local_chat_model, settings)
    if info.provider == "gemini":
        kwargs: dict[str, Any] = {
            "google_api_key": _secret(settings.google_api_key, "GOOGLE_API_KEY"),
            "max_retries": retries,
            "timeout": timeout,
        }
        if settings.gemini_base_url:
            kwargs["base_url"] = settings.gemini_base_url
        return partial(_init_chat_model, info.id, "google_genai", kwargs)
    if info.provider == "openai":
        openai_kwargs: dict[str, Any] = {
            "api_key": _secret(settings.openai_api_key, "OPENAI_API_KEY"),
            "base_url": settings.openai_base_url,
            "max_retries": retries - 1,  # openai counts retries after the first attempt
            "timeout": timeout,
        }
        return partial(_init_chat_model, info.id, "openai", openai_kwargs)
    if info.provider == "ollama":
        return partial(_init_chat_model, info.id, "ollama", {"base_url": settings.ollama_base_url})
    raise LLMConfigError(f"Unknown provider {info.provider!r}")


def _init_chat_model(model: str, provider: str, kwargs: dict[str, Any]) -> BaseChatModel:
    from langchain.chat_models import init_chat_model

    chat_model: BaseChatModel = init_chat_model(model, model_provider=provider, **kwargs)
    return chat_model
