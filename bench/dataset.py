"""A seeded chat history at scale: N users x conversations x messages, written in bulk.

    .venv/bin/python bench/dataset.py --messages 1000000 --out /tmp/conversa-1m.db
    .venv/bin/python bench/dataset.py --messages 100000 --url postgresql+asyncpg://postgres@127.0.0.1:5432/db

The schema is the app's own (Alembic). On SQLite the rows are written at revision 0001 and the
upgrade to head then indexes them (migration 0007's 'rebuild', ~2x faster than the triggers row
by row, and it measures that migration at scale); on PostgreSQL the generated columns fill as
rows are copied in.
Text is a Portuguese and English word mix with a Zipf-like word frequency (common words plus a
long tail of generated accented and plain words), user messages ~25 words and replies ~150
(log-normal). Known words are planted for the benchmark: RARE_WORDS (a handful of messages
each), COMMON_WORD (~1% of all messages) and PREFIX_WORDS (one stem, several endings).
Same seed, same data. Nothing generated is committed.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

BACKEND = Path(__file__).resolve().parents[1] / "backend"
sys.path.insert(0, str(BACKEND))

USERS = 10
MESSAGES_PER_CONVERSATION = 50  # mean; log-normal spread
RARE_WORDS = (
    "zanzibarite",
    "quixotesco",
    "xilogravura",
    "pterodáctilo",
    "ornitorrinco",
)
RARE_PER_WORD = (
    3  # messages holding each rare word (of the searching user: all of them)
)
COMMON_WORD = "orçamento"  # planted in ~1% of all messages
COMMON_SHARE = 0.01
PREFIX_STEM = "algorit"  # algoritmo, algoritmos, algorithm, ... in ~0.5% of messages
PREFIX_WORDS = ("algoritmo", "algoritmos", "algorithm", "algorithms", "algorítmica")
PREFIX_SHARE = 0.005

PORTUGUESE = [
    "o",
    "a",
    "os",
    "as",
    "um",
    "uma",
    "de",
    "do",
    "da",
    "dos",
    "das",
    "em",
    "no",
    "na",
    "nos",
    "nas",
    "por",
    "para",
    "com",
    "sem",
    "sobre",
    "entre",
    "até",
    "que",
    "e",
    "ou",
    "mas",
    "se",
    "não",
    "sim",
    "muito",
    "mais",
    "menos",
    "também",
    "já",
    "ainda",
    "só",
    "bem",
    "mal",
    "aqui",
    "ali",
    "onde",
    "quando",
    "como",
    "porque",
    "então",
    "isso",
    "isto",
    "aquilo",
    "eu",
    "você",
    "ele",
    "ela",
    "nós",
    "eles",
    "elas",
    "meu",
    "minha",
    "seu",
    "sua",
    "nosso",
    "nossa",
    "ser",
    "estar",
    "ter",
    "haver",
    "fazer",
    "poder",
    "dizer",
    "ir",
    "ver",
    "dar",
    "saber",
    "querer",
    "chegar",
    "passar",
    "ficar",
    "deixar",
    "parecer",
    "levar",
    "começar",
    "conhecer",
    "viver",
    "sentir",
    "tornar",
    "precisar",
    "pensar",
    "usar",
    "trabalho",
    "casa",
    "tempo",
    "dia",
    "ano",
    "vez",
    "coisa",
    "pessoa",
    "homem",
    "mulher",
    "vida",
    "mundo",
    "país",
    "cidade",
    "problema",
    "parte",
    "lugar",
    "caso",
    "forma",
    "mão",
    "olho",
    "governo",
    "empresa",
    "sistema",
    "grupo",
    "número",
    "noite",
    "ponto",
    "água",
    "história",
    "exemplo",
    "razão",
    "família",
    "escola",
    "livro",
    "carro",
    "projeto",
    "código",
    "função",
    "dados",
    "arquivo",
    "servidor",
    "página",
    "erro",
    "versão",
    "teste",
    "banco",
    "relatório",
    "reunião",
    "cliente",
    "produto",
    "preço",
    "mercado",
    "ação",
    "informação",
    "educação",
    "solução",
    "comunicação",
    "situação",
    "questão",
    "condição",
    "atenção",
    "organização",
    "criação",
    "população",
    "relação",
    "decisão",
    "opinião",
    "coração",
    "irmão",
    "cão",
    "pão",
    "mãe",
    "avó",
    "café",
    "está",
    "é",
    "até",
    "você",
    "também",
    "três",
    "mês",
    "lá",
    "já",
    "só",
    "após",
    "rápido",
    "fácil",
    "difícil",
    "possível",
    "último",
    "próximo",
    "público",
    "básico",
]
ENGLISH = [
    "the",
    "a",
    "an",
    "of",
    "to",
    "in",
    "and",
    "or",
    "but",
    "if",
    "not",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "have",
    "has",
    "had",
    "do",
    "does",
    "did",
    "will",
    "would",
    "can",
    "could",
    "should",
    "may",
    "might",
    "must",
    "shall",
    "this",
    "that",
    "these",
    "those",
    "it",
    "its",
    "they",
    "them",
    "their",
    "we",
    "our",
    "you",
    "your",
    "he",
    "she",
    "his",
    "her",
    "i",
    "me",
    "my",
    "what",
    "which",
    "who",
    "whom",
    "when",
    "where",
    "why",
    "how",
    "all",
    "any",
    "some",
    "no",
    "more",
    "most",
    "other",
    "such",
    "only",
    "own",
    "same",
    "so",
    "than",
    "too",
    "very",
    "just",
    "also",
    "now",
    "then",
    "here",
    "there",
    "time",
    "year",
    "people",
    "way",
    "day",
    "man",
    "woman",
    "thing",
    "life",
    "world",
    "hand",
    "part",
    "child",
    "eye",
    "place",
    "work",
    "week",
    "case",
    "point",
    "government",
    "company",
    "number",
    "group",
    "problem",
    "fact",
    "question",
    "function",
    "code",
    "data",
    "file",
    "server",
    "page",
    "error",
    "version",
    "test",
    "database",
    "report",
    "meeting",
    "customer",
    "product",
    "price",
    "market",
    "python",
    "javascript",
    "query",
    "index",
    "table",
    "column",
    "request",
    "response",
    "user",
    "message",
    "search",
    "result",
    "value",
    "list",
    "string",
    "object",
    "class",
    "method",
    "build",
    "deploy",
    "release",
    "feature",
    "bug",
    "fix",
]
SYLLABLES = [
    "ba",
    "be",
    "bi",
    "bo",
    "bu",
    "ca",
    "ce",
    "ci",
    "co",
    "cu",
    "da",
    "de",
    "di",
    "do",
    "du",
    "fa",
    "fe",
    "fi",
    "fo",
    "ga",
    "go",
    "gu",
    "la",
    "le",
    "li",
    "lo",
    "lu",
    "ma",
    "me",
    "mi",
    "mo",
    "mu",
    "na",
    "ne",
    "ni",
    "no",
    "nu",
    "pa",
    "pe",
    "pi",
    "po",
    "pu",
    "ra",
    "re",
    "ri",
    "ro",
    "ru",
    "sa",
    "se",
    "si",
    "so",
    "su",
    "ta",
    "te",
    "ti",
    "to",
    "tu",
    "va",
    "ve",
    "vi",
    "vo",
    "ção",
    "ções",
    "ã",
    "õe",
    "é",
    "ê",
    "ó",
    "ô",
    "í",
    "ú",
    "ch",
    "lh",
    "nh",
    "qu",
    "tr",
    "pr",
    "st",
    "th",
    "sh",
]


def vocabulary(rng: random.Random, tail: int = 40_000) -> tuple[list[str], list[float]]:
    """Real words first, then a long tail of made-up ones; Zipf weights (rank^-1.07)."""
    words = list(dict.fromkeys(PORTUGUESE + ENGLISH))
    rng.shuffle(words)
    reserved = set(RARE_WORDS) | {COMMON_WORD} | set(PREFIX_WORDS)
    seen = set(words) | reserved
    while len(words) < tail:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen and not word.startswith(PREFIX_STEM[:4]):
            seen.add(word)
            words.append(word)
    weights = [1 / (rank + 1) ** 1.07 for rank in range(len(words))]
    return words, weights


def message_lengths(rng: random.Random, role: str) -> int:
    mean, sigma = (25, 0.8) if role == "user" else (150, 0.6)
    return max(
        1, min(2000, int(rng.lognormvariate(math.log(mean) - sigma**2 / 2, sigma)))
    )


class TextMaker:
    """Messages built from a pool of generated sentences (drawn from the Zipf vocabulary): fast
    enough for a million messages in minutes, with the same word statistics."""

    POOL = 50_000

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words, weights = vocabulary(self.rng)
        cumulative: list[float] = []
        total = 0.0
        for weight in weights:
            total += weight
            cumulative.append(total)
        self.sentences: list[tuple[str, int]] = []
        for _ in range(self.POOL):
            count = self.rng.randint(4, 20)
            chosen = self.rng.choices(self.words, cum_weights=cumulative, k=count)
            self.sentences.append((" ".join(chosen).capitalize() + ".", count))

    def text(self, role: str) -> str:
        wanted = message_lengths(self.rng, role)
        out: list[str] = []
        count = 0
        while count < wanted:
            sentence, words = self.sentences[int(self.rng.random() * self.POOL)]
            out.append(sentence)
            count += words
        return " ".join(out)


def plan(messages: int, seed: int) -> Iterator[tuple[int, int, list[str]]]:
    """(user index, conversation size, planted words per message) for each conversation, in order.

    User 0 (the one the benchmark searches as) owns the largest conversation and the rare words.
    """
    rng = random.Random(seed + 1)
    largest = min(50_000, max(50, messages // 20))
    remaining = messages - largest
    rare_slots = {
        rng.randrange(messages // USERS) for _ in range(len(RARE_WORDS) * RARE_PER_WORD)
    }
    first = True
    written_by_user0 = 0
    while remaining > 0 or first:
        if first:
            size, user = largest, 0
            first = False
        else:
            sigma = 1.0
            size = max(
                2,
                int(
                    rng.lognormvariate(
                        math.log(MESSAGES_PER_CONVERSATION) - sigma**2 / 2, sigma
                    )
                ),
            )
            size = min(size, remaining, 2_000)
            remaining -= size
            user = rng.randrange(USERS)
        planted: list[str] = []
        for _ in range(size):
            words = []
            if rng.random() < COMMON_SHARE:
                words.append(COMMON_WORD)
            if rng.random() < PREFIX_SHARE:
                words.append(rng.choice(PREFIX_WORDS))
            if user == 0:
                if written_by_user0 in rare_slots:
                    words.append(RARE_WORDS[written_by_user0 % len(RARE_WORDS)])
                written_by_user0 += 1
            planted.append(" ".join(words))
        yield user, size, planted


def rows(
    messages: int, seed: int
) -> Iterator[tuple[int, str, list[tuple[str, str, datetime]]]]:
    """(user index, title, [(role, content, created_at)]) per conversation."""
    maker = TextMaker(seed)
    clock = datetime(2023, 1, 1, tzinfo=UTC)
    for user, size, planted in plan(messages, seed):
        title = " ".join(maker.text("user").split()[:5]).rstrip(".")
        batch = []
        for n in range(size):
            role = "user" if n % 2 == 0 else "assistant"
            content = maker.text(role)
            if planted[n]:
                position = maker.rng.randrange(len(content) + 1)
                cut = content.rfind(" ", 0, position)
                content = (
                    f"{content[: cut + 1]}{planted[n]} {content[cut + 1 :]}".strip()
                )
            clock += timedelta(seconds=maker.rng.randint(5, 600))
            batch.append((role, content, clock))
        yield user, title, batch


def migrate(url: str, revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config
    from app.core.migrations import BACKEND_DIR

    config = Config(str(BACKEND_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(BACKEND_DIR / "alembic"))
    config.attributes["database_url"] = url
    command.upgrade(config, revision)


def write_sqlite(path: Path, messages: int, seed: int) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite+aiosqlite:///{path}"
    migrate(url, "0001")
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA cache_size=-200000")
    now = datetime(2023, 1, 1, tzinfo=UTC).isoformat(" ")
    connection.executemany(
        "INSERT INTO users (id, email, hashed_password, created_at, is_admin, is_active, token_version)"
        " VALUES (?, ?, 'x', ?, 0, 1, 0)",
        [(n + 1, f"user{n}@bench.example", now) for n in range(USERS)],
    )
    written = 0
    for user, title, batch in rows(messages, seed):
        first, last = batch[0][2].isoformat(" "), batch[-1][2].isoformat(" ")
        conversation = connection.execute(
            "INSERT INTO conversations (user_id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
            (user + 1, title, first, last),
        ).lastrowid
        connection.executemany(
            "INSERT INTO messages (conversation_id, role, content, status, created_at) VALUES (?, ?, ?, 'complete', ?)",
            [
                (conversation, role, content, when.isoformat(" "))
                for role, content, when in batch
            ],
        )
        written += len(batch)
        if written // 100_000 != (written - len(batch)) // 100_000:
            connection.commit()
            print(f"  {written:,} messages", file=sys.stderr)
    connection.commit()
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    started = time.perf_counter()
    migrate(url)  # 0007 indexes every row already there
    print(
        f"  upgrade to head (indexing) in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    connection = sqlite3.connect(path)
    connection.execute("ANALYZE")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


async def write_postgres(url: str, messages: int, seed: int) -> None:
    import asyncpg
    from sqlalchemy import make_url

    await asyncio.to_thread(migrate, url)
    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
    )
    try:
        await connection.execute(
            "TRUNCATE messages, conversations, users RESTART IDENTITY CASCADE"
        )
        now = datetime(2023, 1, 1, tzinfo=UTC)
        await connection.copy_records_to_table(
            "users",
            records=[
                (n + 1, f"user{n}@bench.example", "x", now, False, True, 0)
                for n in range(USERS)
            ],
            columns=[
                "id",
                "email",
                "hashed_password",
                "created_at",
                "is_admin",
                "is_active",
                "token_version",
            ],
        )
        conversations: list[tuple[int, int, str, datetime, datetime]] = []
        pending: list[tuple[int, int, int | None, str, str, str, datetime]] = []
        message_id = 0
        written = 0
        for conversation_id, (user, title, batch) in enumerate(
            rows(messages, seed), start=1
        ):
            conversations.append(
                (conversation_id, user + 1, title, batch[0][2], batch[-1][2])
            )
            parent: int | None = (
                None  # a chain, as the app writes it (and migration 0002 made of old rows)
            )
            for role, content, when in batch:
                message_id += 1
                pending.append(
                    (
                        message_id,
                        conversation_id,
                        parent,
                        role,
                        content,
                        "complete",
                        when,
                    )
                )
                parent = message_id
            if len(pending) >= 20_000:
                await flush(connection, conversations, pending)
                written += len(pending)
                print(f"  {written:,} messages", file=sys.stderr)
                conversations, pending = [], []
        await flush(connection, conversations, pending)
        await connection.execute(  # each conversation's active leaf: its newest message
            "UPDATE conversations SET active_message_id = leaf.id FROM (SELECT conversation_id,"
            " max(id) AS id FROM messages GROUP BY conversation_id) AS leaf"
            " WHERE leaf.conversation_id = conversations.id"
        )
        for table in ("users", "conversations", "messages"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


async def flush(
    connection: object,
    conversations: list[tuple[object, ...]],
    pending: list[tuple[object, ...]],
) -> None:
    copy = connection.copy_records_to_table  # type: ignore[attr-defined]
    if conversations:
        await copy(
            "conversations",
            records=conversations,
            columns=["id", "user_id", "title", "created_at", "updated_at"],
        )
    if pending:
        await copy(
            "messages",
            records=pending,
            columns=[
                "id",
                "conversation_id",
                "parent_id",
                "role",
                "content",
                "status",
                "created_at",
            ],
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=18)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", type=Path, help="SQLite file to (re)create")
    target.add_argument("--url", help="PostgreSQL URL (its tables are emptied first)")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.out:
        write_sqlite(args.out, args.messages, args.seed)
    else:
        asyncio.run(write_postgres(args.url, args.messages, args.seed))
    print(
        f"{args.messages:,} messages in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
