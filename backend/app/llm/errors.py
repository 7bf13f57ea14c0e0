"""Errors a model provider can raise, in terms the API can show a person."""

from __future__ import annotations

from app.core.errors import AppError


class LLMError(AppError):
    """The model could not answer; `code` and `status_code` say how the API reports it."""

    code = "model_error"
    status_code = 502
    default_message = "The AI model could not answer right now. Please try again."


class LLMRateLimited(LLMError):
    code = "model_rate_limited"
    status_code = 429
    default_message = "The AI model is receiving too many requests. Please wait a moment and try again."
    default_retry_after = 30.0


class LLMTimeout(LLMError):
    code = "model_timeout"
    status_code = 504
    default_message = "The AI model took too long to answer. Please try again."


class LLMBusy(LLMError):
    code = "model_busy"
    status_code = 503
    default_message = "The local model is busy with other requests. Please try again in a moment."
    default_retry_after = 5.0


class LLMInternalError(LLMError):
    code = "internal"
    status_code = 500
    default_message = "Something went wrong while answering. Please try again."


class CannotReadImages(AppError):
    """The model has no vision: the chat refuses a turn with an image before anything is stored."""

    code = "model_cannot_read_images"
    status_code = 422
    default_message = "this model cannot read images"


class LLMConfigError(RuntimeError):
    """The configured provider cannot start (missing key, missing or broken model file)."""
