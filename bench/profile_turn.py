"""CPU per streamed chat turn, in this process: the real app (routes, dependencies, SSE framing,
the chat service, LangChain's fake model with no delay), driven by a minimal ASGI caller.

    .venv/bin/python bench/profile_turn.py                      # CPU ms per turn (median of 5 rounds)
    .venv/bin/python bench/profile_turn.py --profile 30         # + cProfile's top functions
    .venv/bin/python bench/profile_turn.py --backend /tmp/base/backend   # another checkout's app
    .venv/bin/python bench/profile_turn.py --burst 500 --rounds 3     # 500 at once: CPU and gc per request

The ASGI caller is a few lines (no httpx), so nearly all the CPU measured is the app's; SQL
statements per turn are counted on the engine. `--shape` picks what a turn is (see --help); with
`--parent` a turn also sends the active leaf as `parent_id`, as the web app does. CPU time is
`time.process_time()` of this process (SQLite's work runs in aiosqlite's thread and is included;
PostgreSQL's server is not). "Request to first token" is the admission: what a burst of new chats
queues behind. On a shared machine, compare two checkouts in alternating runs, several times.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_BACKEND = Path(__file__).resolve().parents[1] / "backend"
MESSAGE = "Hello there, how are you today?"
BURST_DELAY_S = 0.05  # the fake model's delay between tokens in --burst (bench/run.py's)
SHAPES = {
    "own": "each turn continues its own conversation of one question and answer (made beforehand)",
    "new": "each turn starts a new conversation",
    "grow": "every turn in one conversation (its history grows to the 200-message cap)",
}


class Caller:
    """Calls the ASGI app as uvicorn would: one request, the whole body, disconnect after the response."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.admission_cpu: list[float] = []  # CPU from the request to its first token event
        self.admission_profiler: cProfile.Profile | None = None  # profiles only that part when set

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None, token: str | None
    ) -> tuple[int, bytes]:
        raw = json.dumps(body).encode() if body is not None else b""
        headers = [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(raw)).encode()),
        ]
        if token:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        finished = asyncio.Event()
        sent_body = False
        status = 0
        chunks: list[bytes] = []
        profiler = self.admission_profiler
        if profiler is not None:
            profiler.enable()
        started = time.process_time()
        first_token = False

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": raw, "more_body": False}
            await finished.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, first_token
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not first_token and message.get("body", b"").startswith(b"event: token"):
                    first_token = True
                    self.admission_cpu.append(time.process_time() - started)
                    if profiler is not None:
                        profiler.disable()
                if not message.get("more_body", False):
                    finished.set()

        await self.app(scope, receive, send)
        finished.set()
        return status, b"".join(chunks)


def events_of(body: bytes) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in body.decode().split("\n\n"):
        name, data = "", None
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
        if data is not None:
            out.append((name, data))
    return out


async def run(args: argparse.Namespace) -> None:
    sys.path.insert(0, args.backend)
    from app.core.config import Settings
    from app.main import create_app
    from sqlalchemy import event

    tmp = Path(tempfile.mkdtemp(prefix="profile-turn-"))
    values: dict[str, Any] = {
        "data_dir": tmp,
        "llm_provider": "fake",
        "fake_llm_delay_ms": 0,
        "chat_rate_limit": "1000000/minute",
        "login_rate_limit": "100000/minute",
        "login_ip_rate_limit": "100000/minute",
        "static_dir": tmp / "no-web-app",
        "log_level": "WARNING",
    }
    if args.database_url:
        values["database_url"] = args.database_url
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    app = create_app(settings)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    caller = Caller(app)
    statements = 0

    def count(*_: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(app.state.context.engine.sync_engine, "before_cursor_execute", count)
    email = f"bench{time.time_ns()}@example.com"
    status, body = await caller.request(
        "POST", "/api/auth/register", {"email": email, "password": "correct-horse-battery"}, None
    )
    assert status == 201, body
    status, body = await caller.request(
        "POST", "/api/auth/login", {"email": email, "password": "correct-horse-battery"}, None
    )
    token = json.loads(body)["access_token"]
    conversation_id: int | None = None
    leaf: int | None = None
    # "own": conversations of one question and answer made beforehand, one per measured turn.
    own: list[tuple[int, int]] = []

    async def turn(shape: str = args.shape) -> None:
        nonlocal conversation_id, leaf
        payload: dict[str, Any] = {"message": MESSAGE}
        if shape == "own":
            conversation_id, leaf = own.pop()
        if conversation_id is not None and shape not in ("new", "setup"):
            payload["conversation_id"] = conversation_id
            if leaf is not None and args.parent:
                payload["parent_id"] = leaf
        status, body = await caller.request("POST", "/api/chat/stream", payload, token)
        events = events_of(body)
        assert status == 200, body[-300:]
        assert events[-1][0] in ("done", "title"), body[-300:]
        conversation_id = events[0][1]["conversation_id"]
        done = next(data for name, data in events if name == "done")
        leaf = done["assistant_message"]["id"]
        if shape == "setup":
            own.append((conversation_id, leaf))

    async def settle() -> None:  # title tasks and other background work of the last turn
        background = getattr(app.state.context.chat, "background", set())
        if background:
            await asyncio.wait(set(background))

    if args.burst:
        for _ in range(args.burst):
            await turn("setup")
        await settle()
        await burst(app, caller, token, [conversation for conversation, _ in own], args)
        await lifespan.__aexit__(None, None, None)
        return
    if args.shape == "own":
        for _ in range(args.warmup + args.turns * args.rounds + args.profile):
            await turn("setup")
    for _ in range(args.warmup):
        await turn()
    await settle()
    rounds = []
    admissions = []
    per_turn_statements = 0.0
    for _ in range(args.rounds):
        gc.collect()
        statements = 0
        caller.admission_cpu.clear()
        started = time.process_time()
        for _ in range(args.turns):
            await turn()
        await settle()
        rounds.append((time.process_time() - started) * 1000 / args.turns)
        admissions.append(statistics.median(caller.admission_cpu) * 1000)
        per_turn_statements = statements / args.turns
    print(
        f"{args.backend} ({SHAPES[args.shape]}): "
        f"CPU per streamed turn {statistics.median(rounds):.2f} ms "
        f"(median of {args.rounds} rounds of {args.turns}; each: {', '.join(f'{r:.1f}' for r in rounds)}); "
        f"request to first token {statistics.median(admissions):.2f} ms CPU (median); "
        f"{per_turn_statements:.1f} SQL statements per turn",
        flush=True,
    )
    if args.profile:
        profiler = cProfile.Profile()
        if args.admission:  # from each request to its first token only
            caller.admission_profiler = profiler
        else:
            profiler.enable()
        for _ in range(args.profile):
            await turn()
        await settle()
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(args.sort).print_stats(max(args.top, 1))
        print(out.getvalue())
        if args.dump:
            stats.dump_stats(args.dump)
    await lifespan.__aexit__(None, None, None)


async def burst(app: Any, caller: Caller, token: str, conversations: list[int], args: argparse.Namespace) -> None:
    """`--burst N`: N turns at once, each in its own conversation, the model at 50 ms a token (as
    bench/run.py's burst, without HTTP): CPU per request and the garbage collector's share of it."""
    app.state.context.llm.built_model.delay_s = BURST_DELAY_S
    collections: list[float] = []
    started_at = [0.0]

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started_at[0] = time.process_time()
        else:
            collections.append(time.process_time() - started_at[0])

    gc.callbacks.append(watch)
    print(f"gc thresholds {gc.get_threshold()}")
    for i in range(args.rounds):
        await asyncio.sleep(1.0)  # the last burst's replies are saved meanwhile
        gc.collect()
        collections.clear()
        caller.admission_cpu.clear()
        started, wall = time.process_time(), time.perf_counter()
        payloads = [{"message": MESSAGE, "conversation_id": conversation} for conversation in conversations]
        await asyncio.gather(*(caller.request("POST", "/api/chat/stream", p, token) for p in payloads))
        cpu = time.process_time() - started
        print(
            f"burst {i + 1}: {len(conversations)} at once, CPU {cpu * 1000 / len(conversations):.2f} ms per request "
            f"(wall {time.perf_counter() - wall:.1f} s), garbage collector {sum(collections) * 1000:.0f} ms CPU in "
            f"{len(collections)} collections",
            flush=True,
        )
    gc.callbacks.remove(watch)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default=str(DEFAULT_BACKEND), help="the backend folder whose app is measured")
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--parent", action="store_true", help="send the active leaf as parent_id (the web app does)")
    parser.add_argument(
        "--shape", choices=sorted(SHAPES), default="own", help="; ".join(f"{k}: {v}" for k, v in SHAPES.items())
    )
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary folder")
    parser.add_argument("--burst", type=int, default=0, metavar="N", help="N turns at once, --rounds times")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile N more turns")
    parser.add_argument("--admission", action="store_true", help="profile only request -> first token")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--dump", default="", help="write the cProfile stats to this file")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    arguments.backend = str(Path(arguments.backend).resolve())
    asyncio.run(run(arguments))
