"""The base of every error the app reports to a person, and validation errors that can always be sent back.

`AppError` lives here, on the ground floor, so the services and the LLM layer can raise errors that
carry their own HTTP status and machine-readable code without importing anything of the API; one set
of exception handlers (`app.api.errors`) turns them into answers.

FastAPI's 422 echoes the offending input, and some inputs cannot be written as JSON: a lone UTF-16
surrogate (`"\\ud800"`) cannot be encoded as UTF-8, and `1e999` is parsed as infinity. Unsanitised,
those turn a clear 422 into a 500.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar


class AppError(Exception):
    """An error with a message a person can read, a machine-readable `code` and an HTTP status.

    `retry_after` (seconds) is sent as `Retry-After`; classes whose status means "try again later"
    (429, 503) set `default_retry_after`, so every route answers the same for the same error.
    """

    code: ClassVar[str] = "error"
    status_code: ClassVar[int] = 400
    default_message: ClassVar[str] = "The request could not be completed."
    default_retry_after: ClassVar[float | None] = None

    def __init__(self, message: str | None = None, *, retry_after: float | None = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.retry_after = retry_after if retry_after is not None else self.default_retry_after

    @property
    def retry_after_header(self) -> str | None:
        """Whole seconds for `Retry-After` (at least 1), or None when there is nothing to wait for."""
        if self.retry_after is None:
            return None
        return str(max(1, math.ceil(self.retry_after)))


def json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {json_safe(str(key)): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value
