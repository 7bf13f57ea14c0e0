"""CPU cost of the Prometheus metrics per streamed token (issue 17: at most 2 µs a token).

    .venv/bin/python bench/metrics.py [--turns 40] [--rounds 5] [--check]

Two measurements, both CPU time (time.process_time), in one process:

1. Direct: what metrics add to one streamed turn, measured alone: the HTTP middleware around an
   event stream of T messages (against the same stream without it), plus the per-turn
   observation (turn, time to first token, total time, tokens). Divided by T: the cost per token.
2. End to end: the app (fake model, no delay) streaming real turns through /api/chat/stream with
   metrics on and off, rounds alternated; CPU per token of each and the difference. This one
   carries the noise of everything else on the machine: it is a sanity check of (1).

Prints a small table; --check exits 1 when the direct cost passes 2 µs a token.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BACKEND = Path(__file__).resolve().parents[1] / "backend"
sys.path.insert(0, str(BACKEND))

TARGET_US = 2.0
LONG_MESSAGE = " ".join(
    ["Tell me about streaming, memory and concurrency on a small server."] * 10
)


async def direct_cost(tokens: int, repeats: int) -> tuple[float, float]:
    """(µs per token of the middleware + per-turn observation, tokens per turn)."""
    from app.core import metrics

    body = [
        {
            "type": "http.response.body",
            "body": b"event: token\ndata: {}\n\n",
            "more_body": True,
        }
    ] * tokens

    async def stream_app(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        for message in body:
            await send(message)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    class Route:
        path = "/chat/stream"

    async def sink(message: Any) -> None:
        return None

    async def receive() -> Any:
        return {"type": "http.request"}

    def scope() -> dict[str, Any]:
        return {
            "type": "http",
            "method": "POST",
            "path": "/api/chat/stream",
            "route": Route(),
        }

    wrapped = metrics.MetricsMiddleware(stream_app)

    async def run(app: Any, observe: bool) -> float:
        start = time.process_time()
        for _ in range(repeats):
            await app(scope(), receive, sink)
            if observe:
                began = time.perf_counter()
                metrics.observe_generation(
                    "fake", "fake", began, began, "complete", None, 120, tokens
                )
        return time.process_time() - start

    metrics.enable(True)
    samples = []
    for _ in range(7):
        bare = await run(stream_app, False)
        metered = await run(wrapped, True)
        samples.append((metered - bare) / (repeats * tokens) * 1e6)
    metrics.enable(False)
    return statistics.median(samples), tokens


async def end_to_end(turns: int, rounds: int) -> tuple[float, float, int]:
    """(µs CPU per token with metrics off, with metrics on, tokens per turn)."""
    import httpx
    from app.core.config import Settings
    from app.core.migrations import upgrade_database
    from app.main import create_app

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{folder}/bench.db"
        await asyncio.to_thread(upgrade_database, url)
        per_mode: dict[bool, list[float]] = {False: [], True: []}
        tokens_per_turn = 0
        for round_number in range(rounds):
            for on in (False, True) if round_number % 2 == 0 else (True, False):
                settings = Settings(
                    _env_file=None,  # type: ignore[call-arg]
                    data_dir=Path(folder) / "data",
                    database_url=url,
                    llm_provider="fake",
                    fake_llm_delay_ms=0,
                    chat_rate_limit="1000000/minute",
                    login_rate_limit="100000/minute",
                    log_level="WARNING",
                    metrics_token="bench-token" if on else None,
                    static_dir=Path(folder) / "no-web",
                )
                app = create_app(settings)
                async with app.router.lifespan_context(app):
                    transport = httpx.ASGITransport(app=app)
                    async with httpx.AsyncClient(
                        transport=transport, base_url="http://bench", timeout=60
                    ) as client:
                        email = f"u{round_number}-{int(on)}@example.com"
                        password = "bench-password-123"
                        await client.post(
                            "/api/auth/register",
                            json={"email": email, "password": password},
                        )
                        login = await client.post(
                            "/api/auth/login",
                            json={"email": email, "password": password},
                        )
                        headers = {
                            "Authorization": f"Bearer {login.json()['access_token']}"
                        }
                        body = {"message": LONG_MESSAGE}
                        await client.post(
                            "/api/chat/stream", headers=headers, json=body
                        )  # warm
                        tokens = 0
                        start = time.process_time()
                        for _ in range(turns):
                            response = await client.post(
                                "/api/chat/stream", headers=headers, json=body
                            )
                            tokens += response.text.count("event: token")
                        per_mode[on].append(
                            (time.process_time() - start) / tokens * 1e6
                        )
                        tokens_per_turn = tokens // turns
    return (
        statistics.median(per_mode[False]),
        statistics.median(per_mode[True]),
        tokens_per_turn,
    )


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--turns", type=int, default=40, help="turns per round of the end-to-end run"
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="rounds per mode (alternated)"
    )
    parser.add_argument(
        "--tokens",
        type=int,
        default=150,
        help="tokens per turn in the direct measurement",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when the direct cost passes 2 µs a token",
    )
    args = parser.parse_args()
    import logging

    logging.disable(logging.INFO)
    direct, tokens = await direct_cost(args.tokens, repeats=200)
    off, on, per_turn = await end_to_end(args.turns, args.rounds)
    ok = direct <= TARGET_US
    print(f"{'measurement':<58} {'value':>10}  target")
    print(
        f"{'metrics, direct: middleware + per-turn observation / token':<58} {direct:>8.3f} µs  <= {TARGET_US} µs "
        f"{'PASS' if ok else 'FAIL'} ({tokens} tokens a turn)"
    )
    print(f"{'end to end, metrics off (CPU per streamed token)':<58} {off:>8.2f} µs")
    print(f"{'end to end, metrics on (CPU per streamed token)':<58} {on:>8.2f} µs")
    print(
        f"{'end to end, difference (noisy: other load on the machine)':<58} {on - off:>8.2f} µs  ({per_turn} tokens a turn)"
    )
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
