"""The embedded local model: a GGUF file run on CPU by llama-cpp-python, as a LangChain chat model.

One `Llama` instance per model file is loaded once and shared. llama.cpp is not thread-safe, so
generations run one at a time, in arrival order, on worker threads; at most `local_max_queue`
requests wait behind the running one, and any more get `LLMBusy` at once. The async stream never
blocks the event loop, and closing or cancelling it stops the worker within a token.
"""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import logging
import os
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import agenerate_from_stream, generate_from_stream
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    SystemMessage,
)
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from app.core.config import Settings
from app.llm.errors import LLMBusy, LLMConfigError, LLMError
from app.llm.models import local_model_available as local_model_available

logger = logging.getLogger("app.llm.local")

GGUF_MAGIC = b"GGUF"
INSTALL_HINT = "Run `make local-model` to build llama-cpp-python and download the default model."
CALL_OPTIONS = {"max_tokens", "temperature", "top_p", "repeat_penalty", "seed", "logit_bias"}
MESSAGE_OVERHEAD_TOKENS = 8  # role markers and separators the chat template adds around each message


class Llama(Protocol):
    """The part of `llama_cpp.Llama` used here (typed locally: llama-cpp-python is an optional extra)."""

    def n_ctx(self) -> int: ...
    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]: ...
    def create_chat_completion(self, *, messages: list[dict[str, str]], stream: bool, **options: Any) -> Any: ...
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Piece:
    """A piece of generated text, or the end of the reply with its finish reason."""

    text: str
    finish_reason: str | None = None


@dataclass(eq=False)
class _Job:
    stop: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


class LlamaRunner:
    """A loaded model that generates for one request at a time, in FIFO order, with a bounded queue."""

    def __init__(self, llama: Llama, path: Path, max_waiting: int) -> None:
        self.llama = llama
        self.path = path
        self.max_waiting = max_waiting
        self._jobs: deque[_Job] = deque()  # the head is generating, the rest wait their turn
        self._changed = threading.Condition()
        self._closed = False

    @property
    def pending(self) -> int:
        """Requests generating or waiting (0 when the model is idle)."""
        with self._changed:
            return len(self._jobs)

    def enqueue(self) -> _Job:
        """Take a place in the queue, or raise LLMBusy at once when it is full."""
        with self._changed:
            if self._closed:
                raise LLMError("The local model has been shut down.")
            if len(self._jobs) > self.max_waiting:
                raise LLMBusy()
            job = _Job()
            self._jobs.append(job)
            return job

    def cancel(self, job: _Job) -> None:
        """Ask the job to stop: its worker leaves the queue or stops after the current token."""
        with self._changed:
            job.stop.set()
            self._changed.notify_all()

    def finish(self, job: _Job) -> None:
        with self._changed:
            job.stop.set()
            if job in self._jobs:
                self._jobs.remove(job)
            job.done.set()
            self._changed.notify_all()

    def wait_turn(self, job: _Job) -> bool:
        """Block until the job is at the head of the queue; False when it was cancelled first."""
        with self._changed:
            while self._jobs[0] is not job:
                if job.stop.is_set():
                    return False
                self._changed.wait()
            return not job.stop.is_set()

    def generate(self, job: _Job, messages: list[dict[str, str]], options: dict[str, Any]) -> Iterator[Piece]:
        """Stream the reply during the job's turn; stops between tokens once the job is cancelled."""
        n_ctx = self.llama.n_ctx()
        reserved = min(int(options["max_tokens"]), n_ctx // 2)  # room for the reply
        messages = fit_to_context(messages, self.count_tokens, n_ctx - reserved)
        try:
            stream = self.llama.create_chat_completion(messages=messages, stream=True, **options)
            for chunk in stream:  # each chunk is one sampled token (or text held back for a stop word)
                if job.stop.is_set():
                    stream.close()
                    return
                choice = chunk["choices"][0]
                text = choice["delta"].get("content") or ""
                finish_reason = choice.get("finish_reason")
                if text or finish_reason:
                    yield Piece(text, finish_reason)
        except (ValueError, RuntimeError) as exc:
            if "exceed context window" in str(exc):  # the last message alone does not fit
                raise LLMError("The message is too long for the local model.") from exc
            raise LLMError() from exc

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def close(self) -> None:
        """Stop every job, wait for the running one, and free the model."""
        with self._changed:
            self._closed = True
            jobs = list(self._jobs)
        for job in jobs:
            self.cancel(job)
        for job in jobs:
            job.done.wait(timeout=10)
        self.llama.close()


def fit_to_context(
    messages: list[dict[str, str]], count_tokens: Callable[[str], int], budget: int
) -> list[dict[str, str]]:
    """Keep the system messages and as many of the latest messages as fit in `budget` tokens."""
    system = [m for m in messages if m["role"] == "system"]
    rest = [m for m in messages if m["role"] != "system"]
    used = sum(count_tokens(m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in system)
    kept: list[dict[str, str]] = []
    for message in reversed(rest):
        cost = count_tokens(message["content"]) + MESSAGE_OVERHEAD_TOKENS
        if kept and used + cost > budget:
            break
        kept.append(message)
        used += cost
    if len(kept) < len(rest):
        logger.info("local model context: dropped %d oldest messages", len(rest) - len(kept))
    return system + kept[::-1]


class LocalChatModel(BaseChatModel):
    """A chat model over a shared `LlamaRunner`; the chat template comes from the GGUF metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    runner: LlamaRunner = Field(exclude=True)
    model_name: str
    max_tokens: int = 512
    temperature: float = 0.2
    top_p: float = 0.9
    repeat_penalty: float = 1.1

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    def ensure_capacity(self) -> None:
        """Raise LLMBusy when the queue is full, so a request can be refused before it starts."""
        if self.runner.pending > self.runner.max_waiting:
            raise LLMBusy()

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }

    def _options(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Sampling options; a call may override them (`model.astream(messages, max_tokens=32)`)."""
        options: dict[str, Any] = {
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "repeat_penalty": self.repeat_penalty,
            "stop": stop or [],
        }
        options.update({key: value for key, value in kwargs.items() if key in CALL_OPTIONS})
        return options

    def _chunk(self, piece: Piece) -> ChatGenerationChunk:
        metadata = {"finish_reason": piece.finish_reason, "model_name": self.model_name} if piece.finish_reason else {}
        return ChatGenerationChunk(message=AIMessageChunk(content=piece.text, response_metadata=metadata))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        runner = self.runner
        llama_messages = to_llama_messages(messages)
        options = self._options(stop, kwargs)
        job = runner.enqueue()
        try:
            if runner.wait_turn(job):
                for piece in runner.generate(job, llama_messages, options):
                    yield self._chunk(piece)
        finally:
            runner.finish(job)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        runner = self.runner
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[Piece | BaseException | None] = asyncio.Queue()
        llama_messages = to_llama_messages(messages)
        options = self._options(stop, kwargs)
        job = runner.enqueue()

        def send(item: Piece | BaseException | None) -> None:
            try:
                loop.call_soon_threadsafe(pieces.put_nowait, item)
            except RuntimeError:  # the event loop is closed: nobody is listening any more
                job.stop.set()

        def work() -> None:
            outcome: BaseException | None = None  # None: the reply is complete
            try:
                if runner.wait_turn(job):
                    for piece in runner.generate(job, llama_messages, options):
                        send(piece)
            except Exception as exc:  # handed to the consumer, which raises it
                outcome = exc
            finally:
                runner.finish(job)  # before the end is sent: a finished stream has freed the model
                send(outcome)

        worker = threading.Thread(target=work, name="conversa-local-llm", daemon=True)
        try:
            worker.start()
            while (item := await pieces.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield self._chunk(item)
        finally:
            # The consumer is done, closed the stream or was cancelled: the worker stops producing.
            if worker.is_alive():
                runner.cancel(job)
            else:
                runner.finish(job)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Through the async stream, so that cancelling an ainvoke also stops the generation.
        return await agenerate_from_stream(self._astream(messages, stop, run_manager, **kwargs))


def to_llama_messages(messages: Sequence[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages as the OpenAI-style dicts llama-cpp-python's chat templates expect."""
    converted = []
    for message in messages:
        if isinstance(message, SystemMessage):
            role = "system"
        elif isinstance(message, AIMessage):
            role = "assistant"
        elif isinstance(message, ChatMessage):
            role = message.role
        else:
            role = "user"
        converted.append({"role": role, "content": _text(message.content)})
    return converted


def _text(content: str | list[str | dict[str, Any]]) -> str:
    if isinstance(content, str):
        return content
    return "".join(
        part if isinstance(part, str) else str(part.get("text", ""))
        for part in content
        if isinstance(part, str) or part.get("type") == "text"
    )


_runners: dict[tuple[Path, int, int], LlamaRunner] = {}
_runners_lock = threading.Lock()


def default_threads() -> int:
    """One core less than the machine has (at most 4): a tiny model gains little from more
    threads, and llama.cpp's threads spin, so taking every core starves the event loop and
    collapses throughput as soon as anything else runs (measured: 2 threads on 2 busy cores
    gave 4-40 tok/s, 1 thread 55-117 tok/s)."""
    return max(1, min(4, (os.cpu_count() or 1) - 1))


def build_local_chat_model(settings: Settings) -> BaseChatModel:
    """The local chat model; loads the GGUF file on the first call and shares it afterwards.

    Raises LLMConfigError naming the path when the file is missing or not a loadable GGUF model,
    or when llama-cpp-python is not installed. Loading takes a moment: call it at startup.
    """
    path = settings.default_local_model_path.expanduser()
    check_gguf_file(path)
    threads = settings.local_threads or default_threads()
    key = (path.resolve(), settings.local_context, threads)
    with _runners_lock:
        runner = _runners.get(key)
        if runner is None:
            if not _runners:
                # Free the model before exit: a worker thread still in llama.cpp would crash it.
                atexit.register(close_local_models)
            runner = _runners[key] = LlamaRunner(load_llama(path, settings.local_context, threads), path, 0)
        runner.max_waiting = settings.local_max_queue
    return LocalChatModel(runner=runner, model_name=path.name, max_tokens=settings.local_max_tokens)


def check_gguf_file(path: Path) -> None:
    if not path.is_file():
        raise LLMConfigError(
            f"Local model file not found: {path}. {INSTALL_HINT} Or set LOCAL_MODEL_PATH to a GGUF file."
        )
    with path.open("rb") as file:
        if file.read(len(GGUF_MAGIC)) != GGUF_MAGIC:
            raise LLMConfigError(
                f"Local model file {path} is not a GGUF model (wrong header). Set LOCAL_MODEL_PATH to a .gguf file."
            )


def load_llama(path: Path, n_ctx: int, threads: int) -> Llama:
    try:
        llama_cpp = importlib.import_module("llama_cpp")
    except ImportError as exc:
        raise LLMConfigError(
            f"The local model needs llama-cpp-python, which is not installed ({exc}). {INSTALL_HINT}"
        ) from exc
    try:
        llama: Llama = llama_cpp.Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,  # llama.cpp logs every load and generation to stderr otherwise
        )
    except Exception as exc:
        raise LLMConfigError(
            f"Local model file {path} could not be loaded by llama.cpp ({exc}); is it a complete GGUF model?"
        ) from exc
    return llama


def close_local_models() -> None:
    """Stop running generations and free every loaded model (at app shutdown, or between tests)."""
    with _runners_lock:
        runners = list(_runners.values())
        _runners.clear()
    for runner in runners:
        runner.close()
