"""The one interface the app uses for the model: stream a reply, answer at once, make a title."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio

from app.core import metrics
from app.core.config import Settings
from app.core.stall import StallTimeout
from app.llm.errors import LLMConfigError, LLMError, LLMRateLimited, LLMTimeout
from app.llm.prompts import TITLE_INSTRUCTION, TITLE_MAX_CHARS
from app.llm.streaming import stream_chunks
from app.llm.types import ChatTurn, GenerationOptions, TokenUsage

if TYPE_CHECKING:  # LangChain itself is imported on the first chat (with a remote provider)
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

logger = logging.getLogger("app.llm")
TITLE_TIMEOUT_S = 15.0
CLOSE_TIMEOUT_S = 5.0
# Gemini and OpenAI's chat models take images (and Gemini PDFs) inline; the embedded model, `fake`
# and Ollama are treated as text-only (an Ollama vision model is not told apart from the others).
VISION_PROVIDERS = frozenset({"gemini", "openai"})


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

    @property
    def vision(self) -> bool:
        """Whether the model reads images and PDFs itself; the others get PDFs and text files as text."""
        return self.provider in VISION_PROVIDERS

    def ensure_capacity(self) -> None:
        """Raise LLMBusy when the provider cannot take another request now (the local model's queue)."""
        check = getattr(self.built_model, "ensure_capacity", None)
        if check is not None:
            check()

    def prompt_for(self, history: Sequence[ChatTurn], system_prompt: str | None = None) -> list[BaseMessage]:
        from app.llm.history import build_prompt

        budget = self.settings.chat_history_tokens
        if self.provider == "local":
            # A small context window, and prompt processing on CPU costs ~7 ms a token.
            budget = min(budget, self.settings.local_context // 2)
        system = self.settings.system_prompt if system_prompt is None else system_prompt
        return build_prompt(system, history, budget, vision=self.vision)

    async def stream_reply(
        self,
        history: Sequence[ChatTurn],
        *,
        system_prompt: str | None = None,
        options: GenerationOptions | None = None,
        usage: TokenUsage | None = None,
    ) -> AsyncGenerator[str, None]:
        """Yield text deltas; raise LLMError subclasses a person can understand.

        `system_prompt` replaces SYSTEM_PROMPT for this call; `options` are passed to the provider
        under its own names; `usage`, when given, is filled in as the reply streams.
        """
        timeout = self.settings.llm_timeout_s
        try:
            model = await self.ready_model()
        except Exception as exc:
            logger.exception("could not build the %s chat model", self.provider)
            raise LLMError() from exc
        if any(turn.attachments for turn in history):  # PDF text and base64 take CPU: off the event loop
            prompt = await asyncio.to_thread(self.prompt_for, history, system_prompt)
        else:
            prompt = self.prompt_for(history, system_prompt)
        kwargs = call_options(self.provider, options, self.settings, with_usage=usage is not None)
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
                text = chunk_text(chunk)
                if text:
                    if first_at is None:
                        first_at = time.perf_counter()
                    completion_chars += len(text)
                    yield text
        except LLMError as exc:
            outcome, error_code = "error", exc.code
            raise
        except TimeoutError as exc:
            logger.warning("llm timeout provider=%s after=%ss", self.provider, timeout)
            outcome, error_code = "error", LLMTimeout.code
            raise LLMTimeout() from exc
        except Exception as exc:
            error = translate_error(exc, self.provider)
            outcome, error_code = "error", error.code
            raise error from exc
        finally:
            stall.close()
            if usage is not None:  # also for a reply cut short: the tokens were spent
                _fill_usage(usage, reported, prompt, completion_chars)
            counted = usage if usage is not None else reported
            metrics.observe_generation(
                self.provider,
                self.model_name,
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
    from app.llm.local import local_model_available

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
    retries = settings.llm_max_retries
    timeout = settings.llm_timeout_s
    model: BaseChatModel
    if provider == "fake":
        from app.llm.fake import FakeChatModel

        model = FakeChatModel(delay_s=settings.fake_llm_delay_ms / 1000)
        return LLMService(model, "fake", "fake", settings, warnings)
    if provider == "local":
        from app.llm.local import build_local_chat_model

        model = build_local_chat_model(settings)
        name = settings.default_local_model_path.name
        return LLMService(model, "local", name, settings, warnings, llm_titles=False)

    # The remote providers' client libraries are heavy (langchain_google_genai: ~25 MB, 0.5 s to
    # import): the key is checked now, the client is built on the first chat.
    if provider == "gemini":
        kwargs: dict[str, Any] = {
            "google_api_key": _secret(settings.google_api_key, "GOOGLE_API_KEY"),
            "max_retries": retries,
            "timeout": timeout,
        }
        if settings.gemini_base_url:
            kwargs["base_url"] = settings.gemini_base_url
        name = settings.gemini_model
        factory = partial(_init_chat_model, name, "google_genai", kwargs)
    elif provider == "openai":
        openai_kwargs: dict[str, Any] = {
            "api_key": _secret(settings.openai_api_key, "OPENAI_API_KEY"),
            "base_url": settings.openai_base_url,
            "max_retries": retries - 1,  # openai counts retries after the first attempt
            "timeout": timeout,
        }
        name = settings.openai_model
        factory = partial(_init_chat_model, name, "openai", openai_kwargs)
    elif provider == "ollama":
        name = settings.ollama_model
        factory = partial(_init_chat_model, name, "ollama", {"base_url": settings.ollama_base_url})
    else:  # pragma: no cover - guarded by the Literal setting
        raise LLMConfigError(f"Unknown LLM_PROVIDER {provider!r}")
    return LLMService(None, provider, name, settings, warnings, factory=factory)


def _init_chat_model(model: str, provider: str, kwargs: dict[str, Any]) -> BaseChatModel:
    from langchain.chat_models import init_chat_model

    chat_model: BaseChatModel = init_chat_model(model, model_provider=provider, **kwargs)
    return chat_model
