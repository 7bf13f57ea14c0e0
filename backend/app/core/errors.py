"""Validation errors that can always be sent back.

FastAPI's 422 echoes the offending input, and some inputs cannot be written as JSON: a lone UTF-16
surrogate (`"\\ud800"`) cannot be encoded as UTF-8, and `1e999` is parsed as infinity. Unsanitised,
those turn a clear 422 into a 500.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


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


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse({"detail": json_safe(jsonable_encoder(errors))}, status_code=422)
