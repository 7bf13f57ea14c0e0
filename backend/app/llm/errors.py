"""Errors a model provider can raise, in terms the API can show a person."""

from __future__ import annotations


class LLMError(Exception):
    """The model could not answer; `code` and `status_code` say how the API reports it."""

    code = "model_error"
    status_code = 502
    default_message = "The AI model could not answer right now. Please try again."

    def __init__(self, message: str | None = None, *, retry_after: float | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.retry_after = retry_after


class LLMRateLimited(LLMError):
    code = "rate_limited"
    status_code = 429
    default_message = "The AI model is receiving too many requests. Please wait a moment and try again."


class LLMTimeout(LLMError):
    code = "timeout"
    status_code = 504
    default_message = "The AI model took too long to answer. Please try again."


class LLMBusy(LLMError):
    code = "busy"
    status_code = 503
    default_message = "The local model is busy with other requests. Please try again in a moment."


class LLMInternalError(LLMError):
    code = "internal"
    status_code = 500
    default_message = "Something went wrong while answering. Please try again."


class LLMConfigError(RuntimeError):
    """The configured provider cannot start (missing key, missing or broken model file)."""
