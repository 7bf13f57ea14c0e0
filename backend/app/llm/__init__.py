"""The LLM package: the only place that imports LangChain."""

from app.llm.errors import (
    CannotReadImages,
    LLMBusy,
    LLMConfigError,
    LLMError,
    LLMInternalError,
    LLMRateLimited,
    LLMTimeout,
)
from app.llm.service import LLMService, build_llm_service
from app.llm.types import Attachment, ChatTurn, GenerationOptions, TokenUsage

__all__ = [
    "Attachment",
    "CannotReadImages",
    "ChatTurn",
    "GenerationOptions",
    "LLMBusy",
    "LLMConfigError",
    "LLMError",
    "LLMInternalError",
    "LLMRateLimited",
    "LLMService",
    "LLMTimeout",
    "TokenUsage",
    "build_llm_service",
]
