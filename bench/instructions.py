"""Instructions per chat turn, counted by valgrind: an A/B that this shared machine's noise cannot move.

    .venv/bin/python bench/instructions.py                          # this checkout, 60 new-chat turns
    .venv/bin/python bench/instructions.py --backend /tmp/base/backend --turns 40

Wall-clock and CPU-time figures of the same code move by 20-50% between runs here (the burst's
p99: 2.1-3.1 s in one afternoon), so a change worth 5% cannot be seen with them. `valgrind
--tool=callgrind` counts the instructions the process executes, whatever else the machine does:
the same code gives the same count within ~0.1%. The real app (routes, dependencies, SSE, the chat
service, SQLite, the fake model with no delay) is driven in process, as `profile_turn.py` does;
two runs, one with no turn and one with `--turns`, and their difference divided by the turns is
the count per turn (the start-up, sign-up and argon2 hashing cancel out). Each run takes 1-3
minutes under valgrind; both run at once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_BACKEND = HERE.parent / "backend"
WARMUP = 5


async def inner(backend: str, turns: int, shape: str, seeded: int) -> None:
    """The measured process: sign up, warm up, then `turns` turns, each to its last event: new chats,
    or (`own`) each continuing one of `seeded` conversations made first (as the web app does: the
    reply on screen named as the parent)."""
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, backend)
    from app.core.config import Settings
    from app.main import create_app
    from profile_turn import Caller, events_of

    folder = Path(tempfile.mkdtemp(prefix="instructions-"))
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=folder,
        llm_provider="fake",
        fake_llm_delay_ms=0,
        chat_rate_limit="1000000/minute",
        static_dir=folder / "no-web-app",
        log_level="WARNING",
    )
    app = create_app(settings)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    caller = Caller(app)
    account = {"email": "bench@example.com", "password": "correct-horse-battery"}
    await caller.request("POST", "/api/auth/register", account, None)
    _, body = await caller.request("POST", "/api/auth/login", account, None)
    token = json.loads(body)["access_token"]

    async def turn(payload: dict[str, Any]) -> tuple[int, int]:
        status, body = await caller.request("POST", "/api/chat/stream", payload, token)
        assert status == 200, body[-300:]
        assert b"event: done" in body, body[-300:]
        background: set[Any] = app.state.context.chat.background
        if background:  # the title, saved after the reply
            await asyncio.wait(set(background))
        events = dict(events_of(body))
        return events["start"]["conversation_id"], events["done"]["assistant_message"]["id"]

    # Made in both runs (the difference of the two runs cancels them out).
    conversations = [await turn({"message": "Hello there"}) for _ in range(seeded)]
    for i in range(WARMUP + turns):
        if shape == "own":
            conversation_id, leaf = conversations[i]
            await turn({"message": "And then?", "conversation_id": conversation_id, "parent_id": leaf})
        else:
            await turn({"message": "Hello there"})
    await lifespan.__aexit__(None, None, None)


def count(backend: str, turns: int, shape: str, seeded: int) -> subprocess.Popen[str]:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--inner",
        "--backend",
        backend,
        "--turns",
        str(turns),
        "--shape",
        shape,
        "--seeded",
        str(seeded),
    ]
    return subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def instructions(process: subprocess.Popen[str]) -> int:
    _, err = process.communicate()
    found = re.search(r"I\s+refs:\s+([\d,]+)", err)
    if process.returncode != 0 or found is None:
        raise SystemExit(f"valgrind run failed ({process.returncode}):\n{err[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--backend", default=str(DEFAULT_BACKEND), help="the backend folder to measure"
    )
    parser.add_argument(
        "--turns",
        type=int,
        default=60,
        help=f"measured turns (after {WARMUP} warm-up turns)",
    )
    parser.add_argument(
        "--shape",
        choices=("new", "own"),
        default="new",
        help="new: each turn starts a conversation; own: each continues one made beforehand",
    )
    parser.add_argument("--seeded", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        asyncio.run(inner(args.backend, args.turns, args.shape, args.seeded))
        return
    # Compile the backend's bytecode first: a run that writes .pyc files counts their compilation.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", args.backend + "/app"], check=True
    )
    seeded = WARMUP + args.turns if args.shape == "own" else 0
    empty = count(args.backend, 0, args.shape, seeded)
    measured = count(args.backend, args.turns, args.shape, seeded)
    base, total = instructions(empty), instructions(measured)
    per_turn = (total - base) / args.turns
    print(
        f"{args.backend}: {per_turn / 1e6:.2f} M instructions per "
        f"{'new-chat turn' if args.shape == 'new' else 'turn continuing a conversation'} "
        f"(whole turn: admission, 50-odd tokens, the reply and the title saved; {args.turns} turns; "
        f"runs of {base / 1e9:.3f} and {total / 1e9:.3f} G instructions)"
    )


if __name__ == "__main__":
    main()
