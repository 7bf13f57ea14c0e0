"""A fake Ollama server on localhost: `/api/tags`, `/api/show` and a streaming `/api/chat`, enough
for langchain-ollama's real client and for the model list.

    with FakeOllamaServer({"gemma3:4b": ["completion", "vision"], "llava:7b": None}) as server:
        server.url                       # OLLAMA_BASE_URL
        server.chats[-1]["messages"]     # what /api/chat received, as JSON

A model whose capabilities are None answers 404 on /api/show (an old server) and lists the
`families` given in `families`.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOllamaServer:
    def __init__(
        self,
        models: dict[str, list[str] | None],
        families: dict[str, list[str]] | None = None,
        reply: str = "Uma resposta do Ollama.",
    ) -> None:
        self.models = models
        self.families = families or {}
        self.reply = reply
        self.chats: list[dict[str, Any]] = []
        self.shows: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> Any:
                return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")

            def do_GET(self) -> None:
                if self.path != "/api/tags":
                    return self._json(404, {"error": "not found"})
                listed = [
                    {"name": name, "model": name, "details": {"families": fake.families.get(name, ["llama"])}}
                    for name in fake.models
                ]
                self._json(200, {"models": listed})

            def do_POST(self) -> None:
                body = self._body()
                if self.path == "/api/show":
                    name = body.get("model") or body.get("name")
                    fake.shows.append(name)
                    capabilities = fake.models.get(name)
                    if capabilities is None:
                        return self._json(404, {"error": f"model '{name}' not found"})
                    return self._json(200, {"details": {}, "capabilities": capabilities})
                if self.path != "/api/chat":
                    return self._json(404, {"error": "not found"})
                fake.chats.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.end_headers()
                words = fake.reply.split(" ")
                for i, word in enumerate(words):
                    chunk = {
                        "model": body["model"],
                        "created_at": "2026-12-01T00:00:00Z",
                        "message": {"role": "assistant", "content": word + (" " if i < len(words) - 1 else "")},
                        "done": False,
                    }
                    self.wfile.write(json.dumps(chunk).encode() + b"\n")
                last = {
                    "model": body["model"],
                    "created_at": "2026-12-01T00:00:00Z",
                    "message": {"role": "assistant", "content": ""},
                    "done": True,
                    "done_reason": "stop",
                    "prompt_eval_count": 12,
                    "eval_count": len(words),
                }
                self.wfile.write(json.dumps(last).encode() + b"\n")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeOllamaServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
