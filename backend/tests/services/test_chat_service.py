"""Event encoding: what the browser's EventSource parser and JSON.parse receive."""

from __future__ import annotations

import json

import pytest

from app.services.chat import sse, token_event


@pytest.mark.parametrize(
    "text", [" word", 'quote " and \\ backslash', "line\nbreak\r\n", "Olá, 世界 🚀", "</script>", ""]
)
def test_token_event_is_the_generic_event_with_the_text_encoded(text: str) -> None:
    event = token_event(text)
    assert event == sse("token", {"text": text})
    head, data = event.decode().removesuffix("\n\n").split("\n")
    assert head == "event: token"
    assert json.loads(data.removeprefix("data: ")) == {"text": text}  # one data line: newlines stay escaped
