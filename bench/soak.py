"""Nothing grows with uptime (issue 19): many chats in a row against one server, its RSS read
after a warm-up share and at the end.

    .venv/bin/python bench/soak.py                       # 50,000 chats, RSS at 5,000 and 50,000
    .venv/bin/python bench/soak.py --chats 5000 --check  # shorter

Workers (--workers at once, over a few accounts) each keep a conversation for --turns turns, then
start a new one, as people do; the fake model answers at once (FAKE_LLM_DELAY_MS=0), so the run
measures the server's own bookkeeping: jobs, readers, sessions, caches. Every chat must end with
`done` and its whole text. Target: RSS at the end within +10% of RSS after the first tenth of the
chats (by then pools, caches and the allocator have settled). Results: bench/results/soak.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen
import server as servers

RESULTS = Path(__file__).resolve().parent / "results"
USERS = 8
GROWTH_TARGET = 0.10


async def run(args: argparse.Namespace) -> int:
    if args.pin and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {1})  # the server gets CPU 0
    else:
        args.pin = False
    work = Path(tempfile.mkdtemp(prefix="conversa-soak-"))
    server = await servers.start_server(
        servers.fake_env(work / "data", 0), cpu=0 if args.pin else None, log_path=work / "server.log"
    )
    warm_at = max(1, args.chats // 10)
    done = 0
    failed: dict[str, int] = {}
    marks: dict[str, float] = {}
    next_chat = 0
    started = time.perf_counter()
    try:
        await asyncio.sleep(1.0)
        marks["idle"] = server.rss_mb()
        tokens = [await loadgen.make_user(server.port, f"soak{i}@example.com") for i in range(USERS)]

        async def worker(index: int) -> None:
            nonlocal done, next_chat
            token = tokens[index % USERS]
            conversation: int | None = None
            turns = 0
            while next_chat < args.chats:
                next_chat += 1
                result = await loadgen.chat_stream(
                    server.port, token, f"Soak message {next_chat}: how is it going?", conversation_id=conversation
                )
                if not result.ok:
                    key = result.error.split(":")[0][:50]
                    failed[key] = failed.get(key, 0) + 1
                    conversation, turns = None, 0
                    continue
                turns += 1
                conversation = None if turns >= args.turns else result.conversation_id
                if turns >= args.turns:
                    turns = 0
                done += 1
                if done == warm_at:
                    await asyncio.sleep(0.5)  # the replies in flight end; then the settled figure
                    marks["warm"] = server.rss_mb()
                    print(f"  {warm_at:,} chats: RSS {marks['warm']:.1f} MB", flush=True)
                elif done % max(1, args.chats // 10) == 0:
                    print(f"  {done:,} chats: RSS {server.rss_mb():.1f} MB", flush=True)

        await asyncio.gather(*(worker(i) for i in range(args.workers)))
        await asyncio.sleep(1.0)
        marks["end"] = server.rss_mb()
        cpu = server.cpu_seconds()
    finally:
        server.stop()
        RESULTS.mkdir(exist_ok=True)
    wall = time.perf_counter() - started
    growth = marks["end"] / marks["warm"] - 1 if "warm" in marks else float("nan")
    figures = {
        "chats": args.chats,
        "completed": done,
        "errors": failed,
        "workers": args.workers,
        "turns_per_conversation": args.turns,
        "rss_idle_mb": round(marks["idle"], 1),
        f"rss_after_{warm_at}_mb": round(marks.get("warm", float("nan")), 1),
        "rss_end_mb": round(marks["end"], 1),
        "growth": round(growth, 4),
        "server_cpu_s": round(cpu, 1),
        "wall_s": round(wall, 1),
    }
    (RESULTS / "soak.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    ok = not failed and done == args.chats and growth <= GROWTH_TARGET
    print(
        f"{done:,} chats, {sum(failed.values())} failed: RSS {marks.get('warm', float('nan')):.1f} MB after "
        f"{warm_at:,} -> {marks['end']:.1f} MB at the end ({growth:+.1%}, target <= +{GROWTH_TARGET:.0%}) "
        f"[{'pass' if ok else 'FAIL'}]"
    )
    return 1 if args.check and not ok else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chats", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=32, help="chats in flight at once")
    parser.add_argument("--turns", type=int, default=20, help="turns per conversation before a new one")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin server/generator to CPUs")
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
