"""The OpenAPI schema with its error responses documented, so clients (and the fuzzer) can rely on them.

FastAPI documents what each route declares; the errors every route can give (a body that is not
JSON, too large, invalid; a missing or revoked token; an unexpected failure) come from
dependencies and middleware, so they are added here, all with the `{"detail": ..., "code": ...}` body.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

ERROR_SCHEMA: dict[str, Any] = {
    "title": "ErrorOut",
    "type": "object",
    "required": ["detail", "code"],
    "properties": {
        "detail": {
            "title": "Detail",
            "description": "A sentence for a person, or (validation errors) the list of what is wrong.",
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}}],
        },
        "code": {
            "title": "Code",
            "description": "What went wrong, for programs: e.g. rate_limited, daily_quota, model_busy, model_timeout, "
            "not_found, validation_error (docs/API.md lists them).",
            "type": "string",
        },
    },
}
ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
WITH_BODY = {"400": "The body is not valid JSON or not UTF-8", "413": "The body is larger than MAX_BODY_BYTES"}
WITH_INPUT = {"422": "Invalid input"}
WITH_TOKEN = {"401": "No token, or an invalid, expired or revoked one, or a disabled account"}
ALWAYS = {"500": "Unexpected error: logged with the request id; no detail reaches the client"}


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    schema.setdefault("components", {}).setdefault("schemas", {})["ErrorOut"] = ERROR_SCHEMA
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            codes = dict(ALWAYS)
            if "requestBody" in operation:
                codes |= WITH_BODY | WITH_INPUT
            if operation.get("parameters"):
                codes |= WITH_INPUT
            if operation.get("security"):
                codes |= WITH_TOKEN
            for code, description in codes.items():
                responses.setdefault(code, {"description": description})
            for code, response in responses.items():
                # 422 carries a plain sentence too (e.g. an empty message), not only FastAPI's list.
                if code[0] in "45" and ("content" not in response or code == "422"):
                    response["content"] = ERROR_CONTENT
    return schema


def document_error_responses(app: FastAPI) -> None:
    default = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(default())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
