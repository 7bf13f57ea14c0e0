"""Replies that outlive their connection (issue 19): N streams whose clients drop after the first
token and come back a second later through GET /api/conversations/{id}/stream.

    .venv/bin/python bench/reattach.py              # 1,000 streams
    .venv/bin/python bench/reattach.py --streams 200 --check

Every reattached client must get the whole reply (sync + tokens == the saved reply == the fake
model's text): 0 replies lost. While the replies are generating, the server's RSS is sampled
(every stream is held at once: the clients are gone, the jobs are not). The server is the fake
provider pinned to CPU 0 (this generator on CPU 1) as in bench/run.py; results go to
bench/results/reattach.json.
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen
import server as servers

RESULTS = Path(__file__).resolve().parent / "results"
DELAY_MS = 50.0
# ~110 words: a reply of ~6 s, so it is still generating when its client comes back after 1 s.
MESSAGE = " ".join(["Tell me about streaming, memory and concurrency on a small server."] * 5)
USERS = 8
RSS_TARGET_MB = 250.0


async def one_client(
    port: int, token: str, gate: asyncio.Event, away_s: float
) -> tuple[loadgen.StreamResult, loadgen.StreamResult | None, dict[str, Any] | None]:
    first = await loadgen.chat_stream(port, token, MESSAGE, gate=gate, first_token_only=True, timeout=120)
    if not first.ok or first.conversation_id is None:
        return first, None, None
    await asyncio.sleep(away_s)  # the tab reloads, the phone changes network...
    again = await loadgen.follow_reply(port, token, first.conversation_id, MESSAGE, timeout=180)
    saved = None
    if again.status == 204:  # it ended while the client was away: the saved reply must be whole
        _, page = await loadgen.request_json(port, "GET", f"/api/conversations/{first.conversation_id}/messages", token=token)
        saved = page["items"][-1] if page.get("items") else None
    return first, again, saved


async def run(args: argparse.Namespace) -> int:
    if args.pin and hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {1})  # the server gets CPU 0
    else:
        args.pin = False
    work = Path(tempfile.mkdtemp(prefix="conversa-reattach-"))
    server = await servers.start_server(
        servers.fake_env(work / "data", DELAY_MS), cpu=0 if args.pin else None, log_path=work / "server.log"
    )
    try:
        await asyncio.sleep(1.0)
        idle_mb = server.rss_mb()
        tokens = [await loadgen.make_user(server.port, f"reattach{i}@example.com") for i in range(USERS)]
        for i in range(3):  # warm-up
            await loadgen.chat_stream(server.port, tokens[i], "warm up")
        gate = asyncio.Event()
        tasks = [
            asyncio.create_task(one_client(server.port, tokens[i % USERS], gate, args.away))
            for i in range(args.streams)
        ]
        samples: list[float] = []
        finished = asyncio.Event()

        async def sample() -> None:
            while not finished.is_set() and server.alive():
                samples.append(server.rss_mb())
                try:
                    async with asyncio.timeout(0.1):
                        await finished.wait()
                except TimeoutError:
                    pass

        await asyncio.sleep(0.2)
        cpu_before = server.cpu_seconds()
        sampler = asyncio.create_task(sample())
        started = time.perf_counter()
        gate.set()
        outcomes = await asyncio.gather(*tasks)
        wall = time.perf_counter() - started
        finished.set()
        await sampler
        cpu = server.cpu_seconds() - cpu_before
        await asyncio.sleep(1.0)
        after_mb = server.rss_mb()
    finally:
        server.stop()
        RESULTS.mkdir(exist_ok=True)

    refused = [first for first, _, _ in outcomes if not first.ok]
    followed = [again for _, again, _ in outcomes if again is not None and again.status == 200]
    ended_while_away = [(again, saved) for _, again, saved in outcomes if again is not None and again.status == 204]
    whole = sum(1 for again in followed if again.ok) + sum(
        1
        for _, saved in ended_while_away
        if saved and saved["status"] == "complete" and saved["content"] == loadgen.expected_reply(MESSAGE)
    )
    lost = args.streams - whole
    errors: dict[str, int] = {}
    for result in [*refused, *(a for a in followed if not a.ok)]:
        key = result.error.split(":")[0][:50]
        errors[key] = errors.get(key, 0) + 1
    figures = {
        "streams": args.streams,
        "away_s": args.away,
        "reattached_with_sync": len(followed),
        "ended_while_away": len(ended_while_away),
        "whole_replies": whole,
        "lost": lost,
        "errors": errors,
        "rss_idle_mb": round(idle_mb, 1),
        "rss_peak_mb": round(max(samples), 1) if samples else None,
        "rss_after_mb": round(after_mb, 1),
        "server_cpu_s": round(cpu, 2),
        "wall_s": round(wall, 1),
    }
    (RESULTS / "reattach.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    rss_ok = figures["rss_peak_mb"] is not None and figures["rss_peak_mb"] <= RSS_TARGET_MB
    print(
        f"{args.streams} streams dropped after the first token, back {args.away:.0f} s later: "
        f"{whole} whole, {lost} lost [{'pass' if lost == 0 else 'FAIL'}]; "
        f"RSS peak {figures['rss_peak_mb']} MB (<= {RSS_TARGET_MB:.0f}) [{'pass' if rss_ok else 'FAIL'}]"
    )
    if args.check and (lost or not rss_ok):
        return 1
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--away", type=float, default=1.0, help="seconds between the drop and the reattach")
    parser.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin the server to CPU 0")
    parser.add_argument("--check", action="store_true", help="exit 1 when a reply is lost or RSS is over target")
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
