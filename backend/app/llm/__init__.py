"""The LLM package: the only place that imports LangChain."""

from app.llm.errors import LLMBusy, LLMConfigError, LLMError, LLMInternalError, LLMRateLimited, LLMTimeout
from app.llm.service import LLMService, build_llm_service
from app.llm.types import ChatTurn, GenerationOptions, TokenUsage

__all__ = [
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
