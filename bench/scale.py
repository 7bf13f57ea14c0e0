"""How the hot routes grow with the database: rows at 10k / 100k / 1M messages (issue 18).

    .venv/bin/python bench/dataset.py --messages 1000000 --out /tmp/conversa-1m.db
    .venv/bin/python bench/scale.py --sqlite /tmp/conversa-1m.db
    .venv/bin/python bench/scale.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/db

Each request goes through the real app (routes, auth, JSON) in this process over httpx's ASGI
transport, as the user the dataset gave the most data (user 1: the largest conversation and the
planted rare words). Wall-clock p50 / p99 and this process's CPU time per request (all threads:
the figure that a busy shared machine inflates least). `--pin` keeps it on CPU 0. One table per
run, appended to bench/results/scale.md (and scale.json).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "backend"))
sys.path.insert(0, str(HERE))

import httpx
from dataset import COMMON_WORD, PREFIX_STEM, RARE_WORDS
from sqlalchemy import exists, func, or_, select, text

RESULTS = HERE / "results"
USER_ID = 1
TARGETS_MS = {
    "search": 50.0,
    "list": 20.0,
    "open": 20.0,
}  # p99 at 1M messages on SQLite, one core


def rss_mb() -> float:
    """This process's resident memory (Linux), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def naive_like_search(user_id: int, word: str) -> tuple[Any, Any]:
    """The `?q=` of before issue 18 (its count and its page): LIKE over every message of the user."""
    from app.models import Conversation, Message

    pattern = f"%{word.lower()}%"
    in_messages = exists().where(
        Message.conversation_id == Conversation.id,
        func.lower(Message.content).like(pattern),
    )
    condition = (Conversation.user_id == user_id) & or_(
        func.lower(Conversation.title).like(pattern), in_messages
    )
    count = select(func.count()).select_from(Conversation).where(condition)
    page = (
        select(Conversation.id)
        .where(condition)
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        .limit(50)
    )
    return count, page


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rows: list[dict[str, Any]] = []
        self.backend = "sqlite" if args.sqlite else "postgresql"
        self.url = (
            f"sqlite+aiosqlite:///{args.sqlite}" if args.sqlite else args.postgres
        )

    async def timed(
        self, name: str, run: Callable[[], Awaitable[Any]], count: int, note: str = ""
    ) -> None:
        for _ in range(min(3, count)):
            await run()  # warm-up: caches as in a running server
        samples, cpu = [], []
        for _ in range(count):
            started, started_cpu = time.perf_counter(), time.process_time()
            await run()
            samples.append((time.perf_counter() - started) * 1000)
            cpu.append(
                (time.process_time() - started_cpu) * 1000
            )  # this process, all threads
        row = {
            "name": name,
            "p50_ms": round(statistics.median(samples), 2),
            "p99_ms": round(percentile(samples, 0.99), 2),
            "cpu_p50_ms": round(statistics.median(cpu), 2),
            "cpu_p99_ms": round(percentile(cpu, 0.99), 2),
            "n": count,
            "note": note,
        }
        self.rows.append(row)
        print(
            f"  {name:<40} p50 {row['p50_ms']:>9.2f} ms  p99 {row['p99_ms']:>9.2f} ms"
            f"  cpu p50 {row['cpu_p50_ms']:>8.2f} p99 {row['cpu_p99_ms']:>8.2f}  {note}",
            file=sys.stderr,
        )

    async def run(self) -> dict[str, Any]:
        from app.core.config import Settings
        from app.core.security import create_access_token
        from app.main import create_app

        data_dir = Path(tempfile.mkdtemp(prefix="conversa-scale-"))
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=self.url,
            data_dir=data_dir,
            llm_provider="fake",
            static_dir=data_dir / "no-web-app",
            chat_rate_limit="100000/minute",
            fake_llm_delay_ms=0,  # the chat-turn rows measure the app's overhead, not the model's pace
            log_level="WARNING",  # a log line per request would be part of every row's CPU
        )
        app = create_app(settings)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        context = app.state.context
        rss_start = rss_mb()
        try:
            async with context.engine.connect() as connection:
                messages = (
                    await connection.execute(text("SELECT count(*) FROM messages"))
                ).scalar_one()
                largest, largest_size = (
                    await connection.execute(
                        text(
                            "SELECT conversation_id, count(*) FROM messages GROUP BY conversation_id"
                            " ORDER BY count(*) DESC LIMIT 1"
                        )
                    )
                ).one()
                recent = list(
                    (
                        await connection.execute(
                            text(
                                "SELECT id FROM conversations WHERE user_id = :u ORDER BY updated_at DESC LIMIT 20"
                            ),
                            {"u": USER_ID},
                        )
                    ).scalars()
                )
                user_messages = (
                    await connection.execute(
                        text(
                            "SELECT count(*) FROM messages JOIN conversations ON conversations.id = conversation_id"
                            " WHERE user_id = :u"
                        ),
                        {"u": USER_ID},
                    )
                ).scalar_one()
            token = create_access_token(USER_ID, 0, context.signing_key, 1).token
            headers = {"Authorization": f"Bearer {token}"}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", headers=headers
            ) as client:
                await self.measure(client, context, largest, recent)
            rss_end = rss_mb()
            export_peak = await self.export(context, largest)
            size = await self.database_size(context)
            backup_s = await asyncio.to_thread(self.backup)
        finally:
            await lifespan.__aexit__(None, None, None)
            shutil.rmtree(data_dir, ignore_errors=True)
        return {
            "backend": self.backend,
            "messages": messages,
            "user_messages": user_messages,
            "largest_conversation": largest_size,
            "database_mb": round(size / 2**20, 1),
            "backup_s": round(backup_s, 2),
            "export_peak_mb": export_peak,
            "rss_start_mb": rss_start,
            "rss_end_mb": rss_end,
            "rows": self.rows,
        }

    async def measure(
        self, client: httpx.AsyncClient, context: Any, largest: int, recent: list[int]
    ) -> None:
        n = self.args.iterations
        counter = iter(range(10**9))

        async def get(url: str, **params: Any) -> dict[str, Any]:
            response = await client.get(url, params=params)
            assert response.status_code == 200, response.text
            return dict(response.json())

        await self.timed(
            "sidebar list (50)", lambda: get("/api/conversations", limit=50), n
        )

        async def open_conversation() -> None:
            conversation = recent[next(counter) % len(recent)]
            await get(f"/api/conversations/{conversation}/messages", limit=100)

        await self.timed(
            "open a conversation (last 100)",
            open_conversation,
            n,
            "20 most recent, in turn",
        )
        await self.timed(
            "open the largest conversation (last 100)",
            lambda: get(f"/api/conversations/{largest}/messages", limit=100),
            n,
        )
        hits = {}
        for label, query in (
            ("rare", RARE_WORDS[0]),
            ("common", COMMON_WORD),
            ("prefix", PREFIX_STEM),
        ):
            hits[label] = await self.count_hits(context, query)
        await self.timed(
            "search rare word (/api/search)",
            lambda: get("/api/search", q=RARE_WORDS[next(counter) % len(RARE_WORDS)]),
            n,
            f"{len(RARE_WORDS)} words in turn, {hits['rare']} hits",
        )
        await self.timed(
            "search common word (/api/search)",
            lambda: get("/api/search", q="orcamento"),
            n,
            f"'orcamento' finds '{COMMON_WORD}': {hits['common']} of the user's messages",
        )
        await self.timed(
            "search prefix (/api/search)",
            lambda: get("/api/search", q=PREFIX_STEM),
            n,
            f"'{PREFIX_STEM}': {hits['prefix']} hits",
        )
        await self.timed(
            "sidebar search common (?q=)",
            lambda: get("/api/conversations", q="orcamento", limit=50),
            n,
            "conversations ranked by best match, with snippets",
        )
        await self.timed(
            "sidebar search prefix (?q=)",
            lambda: get("/api/conversations", q=PREFIX_STEM, limit=50),
            n,
        )

        await self.quota_and_turns(client, context, largest, recent)

        for label, word in (("rare", RARE_WORDS[0]), ("common", COMMON_WORD)):

            async def naive(word: str = word) -> None:
                count, page = naive_like_search(USER_ID, word)
                async with context.sessionmaker() as session:
                    await session.scalar(count)
                    list(await session.scalars(page))

            await self.timed(
                f"naive LIKE search, {label} word (before)",
                naive,
                max(3, n // 20),
                f"the old ?q=: count + page, LIKE '%{word}%' over the user's rows",
            )

    async def quota_and_turns(
        self, client: httpx.AsyncClient, context: Any, largest: int, recent: list[int]
    ) -> None:
        """The quota check a turn makes (all three quotas on), the usage line, and whole chat turns
        (fake model with no delay: the app's own cost) in a recent and in the largest conversation."""
        from app.services.quotas import Quotas, check_quotas

        n = self.args.iterations
        quotas = Quotas(
            daily_messages=10**6, daily_tokens=10**12, monthly_tokens=10**12
        )

        async def quota() -> None:
            async with context.sessionmaker() as session:
                await check_quotas(session, USER_ID, quotas)

        await self.timed(
            "daily quota check (3 quotas on)",
            quota,
            n,
            "today's and the month's counters, one query",
        )

        async def usage() -> None:
            response = await client.get("/api/usage")
            assert response.status_code == 200, response.text

        await self.timed("usage line (/api/usage)", usage, n)
        counter = iter(range(10**9))

        async def turn(conversation_id: int) -> None:
            response = await client.post(
                "/api/chat/stream",
                json={
                    "message": "Hello there, how are you today?",
                    "conversation_id": conversation_id,
                },
            )
            assert response.status_code == 200, response.text
            assert "event: done" in response.text, response.text[-300:]

        turns = max(10, n // 4)
        await self.timed(
            "chat turn, recent conversation (fake model)",
            lambda: turn(recent[next(counter) % len(recent)]),
            turns,
            "request to saved reply, 60-odd words streamed, no model delay",
        )
        await self.timed(
            "chat turn, largest conversation (fake model)",
            lambda: turn(largest),
            turns,
            "history bounded by CHAT_HISTORY_TOKENS / _MAX_MESSAGES",
        )

    async def count_hits(self, context: Any, query: str) -> int:
        from app.services.search import search_messages

        async with context.sessionmaker() as session:
            total, offset = 0, 0
            while True:
                page, more = await search_messages(
                    session, USER_ID, query, limit=50, offset=offset
                )
                total += len(page)
                offset += 50
                if not more or offset >= 10_000:
                    return total

    async def export(self, context: Any, largest: int) -> float:
        """The route's own generator, drained (httpx's ASGI transport would buffer the whole body);
        returns the peak of Python memory allocated while it ran, in MB."""
        from app.models import Conversation
        from app.services import conversations as service

        async with context.sessionmaker() as session:
            conversation = await session.get(Conversation, largest)
        size = 0

        async def drain() -> None:
            nonlocal size
            size = 0
            async with (
                context.sessionmaker() as session
            ):  # as the route: the tree's shape first
                active_id, children = await service.tree_shape(session, conversation)
            body = service.export_json(
                conversation,
                service.iter_messages(context.sessionmaker, largest),
                active_id,
                children,
            )
            async for chunk in service.in_chunks(body):
                size += len(chunk)

        await self.timed("export the largest conversation (JSON)", drain, 3)
        tracemalloc.start()
        await drain()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        self.rows[-1]["note"] = (
            f"{size / 2**20:.1f} MB streamed, peak Python allocation {peak / 2**20:.1f} MB"
        )
        return round(peak / 2**20, 1)

    async def database_size(self, context: Any) -> int:
        if self.backend == "sqlite":
            return sum(
                Path(f"{self.args.sqlite}{s}").stat().st_size
                for s in ("", "-wal")
                if Path(f"{self.args.sqlite}{s}").exists()
            )
        async with context.engine.connect() as connection:
            return int(
                (
                    await connection.execute(
                        text("SELECT pg_database_size(current_database())")
                    )
                ).scalar_one()
            )

    def backup(self) -> float:
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            if self.backend == "sqlite":
                from app.services.backup import snapshot

                snapshot(Path(self.args.sqlite), Path(folder) / "backup.db")
            else:
                from sqlalchemy import make_url

                url = make_url(self.args.postgres)
                subprocess.run(
                    [
                        "pg_dump",
                        "-Fc",
                        "-h",
                        url.host or "127.0.0.1",
                        "-p",
                        str(url.port or 5432),
                        "-U",
                        url.username or "postgres",
                        "-f",
                        f"{folder}/dump",
                        url.database or "",
                    ],
                    check=True,
                )
        return time.perf_counter() - started


def report(result: dict[str, Any], command: str) -> str:
    lines = [
        (
            f"### {result['backend']}, {result['messages']:,} messages "
            f"(user searched: {result['user_messages']:,}; largest conversation {result['largest_conversation']:,})"
        ),
        "",
        f"`{command}` on {platform.processor() or platform.machine()}, load {os.getloadavg()[0]:.1f}",
        "",
        "| measurement | p50 ms | p99 ms | CPU p50 ms | CPU p99 ms | n | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['name']} | {row['p50_ms']} | {row['p99_ms']} | {row['cpu_p50_ms']} | {row['cpu_p99_ms']} |"
            f" {row['n']} | {row['note']} |"
        )
    lines += [
        f"| database size on disk | {result['database_mb']} MB | | | | | |",
        (
            f"| backup | {result['backup_s']} s | | | | | "
            f"{'online backup API + integrity check' if result['backend'] == 'sqlite' else 'pg_dump -Fc'} |"
        ),
        f"| peak memory allocated by the export | {result['export_peak_mb']} MB | | | | | |",
        (
            f"| RSS of this process (app in-process) | {result.get('rss_start_mb', '?')} MB at start,"
            f" {result.get('rss_end_mb', '?')} MB after the runs | | | | | |"
        ),
        "",
    ]
    return "\n".join(lines)


def summary() -> str:
    """One table from the newest run of each backend and size in scale.json (for the README)."""
    latest: dict[tuple[str, int], dict[str, Any]] = {}
    for line in (RESULTS / "scale.json").read_text().splitlines():
        result = json.loads(line)
        latest[(result["backend"], result["messages"])] = result
    keys = sorted(latest, key=lambda key: (key[0] != "sqlite", key[1]))
    names = [row["name"] for row in latest[keys[0]]["rows"]]
    header = " | ".join(f"{backend} {messages:,}" for backend, messages in keys)
    lines = [
        f"| p50 / p99 ms (CPU p99) | {header} |",
        "| --- |" + " ---: |" * len(keys),
    ]
    for name in names:
        cells = []
        for key in keys:
            row = next((r for r in latest[key]["rows"] if r["name"] == name), None)
            cells.append(
                f"{row['p50_ms']:.0f} / {row['p99_ms']:.0f} ({row['cpu_p99_ms']:.0f})"
                if row
                else "—"
            )
        lines.append(f"| {name} | {' | '.join(cells)} |")
    for label, field, unit in (
        ("database size on disk", "database_mb", "MB"),
        ("backup", "backup_s", "s"),
        ("export peak memory", "export_peak_mb", "MB"),
        ("RSS at start", "rss_start_mb", "MB"),
        ("RSS after the runs", "rss_end_mb", "MB"),
    ):
        cells = [
            f"{latest[key][field]:.1f} {unit}" if field in latest[key] else "—"
            for key in keys
        ]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main() -> int:
    if sys.argv[1:] == ["--summary"]:
        print(summary())
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--sqlite", type=Path)
    target.add_argument("--postgres")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--pin", action="store_true", help="run on CPU 0 only")
    args = parser.parse_args()
    if args.pin:
        os.sched_setaffinity(0, {0})
    result = asyncio.run(Bench(args).run())
    RESULTS.mkdir(exist_ok=True)
    command = "bench/scale.py " + " ".join(sys.argv[1:])
    text_report = report(result, command)
    with (RESULTS / "scale.md").open("a") as out:
        out.write(text_report + "\n")
    with (RESULTS / "scale.json").open("a") as out:
        out.write(json.dumps(result) + "\n")
    print(text_report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
