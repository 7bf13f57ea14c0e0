"""Full-text search of a user's messages and conversation titles, on SQLite (FTS5) or PostgreSQL.

One interface for both databases: `search_messages` (message-level hits for the search dialog)
and `search_conversations` (the sidebar: conversations ranked by their best match). The indexes
live in the database and are kept in sync there (alembic/versions/0007_full_text_search.py).

Cost stays bounded at a million messages: the user restriction is part of the full-text query
itself (SQLite: an `owner` token intersected by FTS5; PostgreSQL: the join is by the GIN hits),
so only that user's hits are ranked, and snippets are built for the returned page only — never
one per hit (on SQLite from the page's rows here, see `marked_snippet`; on PostgreSQL by ts_headline).
"""

from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Conversation, UTCDateTime

MAX_TERMS = 12
MAX_TERM_CHARS = 64
MIN_PREFIX_CHARS = 3  # shorter prefixes would match most of the index: searched as whole words
TITLE_WEIGHT = 2.0  # a match in the title counts double
SNIPPET_TOKENS = 16  # SQLite: tokens around the match
SNIPPET_CANDIDATES = 64  # SQLite: the first matches whose windows are compared
# Marks placed by the database around each match: control characters, never HTML, so the text
# around them can be escaped and only our own <mark> tags reach the page.
_OPEN, _CLOSE = "\x02", "\x03"
_WORD = re.compile(r"[^\W_]+")
_PG_HEADLINE = f"StartSel={_OPEN}, StopSel={_CLOSE}, MaxWords=24, MinWords=12"


@dataclass(frozen=True)
class MessageHit:
    conversation_id: int
    conversation_title: str
    message_id: int
    role: str
    snippet: str
    created_at: datetime


@dataclass(frozen=True)
class ConversationHit:
    conversation: Conversation
    message_id: int | None  # the best-matching message; None when only the title matches
    snippet: str | None


@dataclass(frozen=True)
class SearchQuery:
    """The words of what the user typed; the last one also matches as a prefix."""

    terms: tuple[str, ...]
    prefix: bool

    def fts5(self, column: str, user_id: int | None) -> str:
        """The FTS5 query; with `user_id`, restricted to that owner's rows inside the index."""
        phrases = [f'"{term}"' for term in self.terms]
        if self.prefix:
            phrases[-1] += "*"
        words = f"{{{column}}} : ({' AND '.join(phrases)})"
        return words if user_id is None else f'owner : "u{user_id}" AND {words}'

    def tsquery(self) -> str:
        words = [f"'{term}'" for term in self.terms]
        if self.prefix:
            words[-1] += ":*"
        return " & ".join(words)


def parse_query(raw: str) -> SearchQuery | None:
    """Words only (letters and digits): no operator the user types reaches the search engine."""
    terms = [term[:MAX_TERM_CHARS] for term in _WORD.findall(unicodedata.normalize("NFC", raw))][:MAX_TERMS]
    if not terms:
        return None
    return SearchQuery(tuple(terms), prefix=len(terms[-1]) >= MIN_PREFIX_CHARS)


def render_snippet(marked: str) -> str:
    """The database's marked text as HTML: everything escaped, the matches in <mark>."""
    parts: list[str] = []
    inside = False
    for piece in re.split(f"([{_OPEN}{_CLOSE}])", marked):
        if piece == _OPEN:
            if not inside:
                parts.append("<mark>")
                inside = True
        elif piece == _CLOSE:
            if inside:
                parts.append("</mark>")
                inside = False
        else:
            parts.append(html.escape(piece, quote=False))
    if inside:
        parts.append("</mark>")
    return "".join(parts)


@lru_cache(maxsize=8192)  # words repeat: a long message folds each distinct word once
def fold(word: str) -> str:
    """A word as SQLite's `unicode61 remove_diacritics 2` tokenizer indexes it: accents off, lower case."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).lower()


def marked_snippet(content: str, query: SearchQuery, tokens: int = SNIPPET_TOKENS) -> str:
    """`tokens` words of `content` around its best match, the matches between the database's marks:
    the words FTS5's snippet() marks (tests/services/test_search_snippets.py compares them), in a
    window centred on the match where snippet() starts at a sentence. Built here on SQLite:
    snippet() needs the row in a MATCH query, and FTS5 answers `rowid IN (...)` with one index
    lookup per row (0.35 ms each at 1M messages: 18 of the 59 ms of a 50-conversation search,
    whose p50 is 22-26 ms with this, ~0.1 ms a snippet of a 150-word reply)."""
    content = unicodedata.normalize("NFC", content)  # "a" + a combining accent is one word, as for FTS5
    terms = [fold(term) for term in query.terms]
    last = len(terms) - 1

    def matched(word: str) -> int | None:
        for index, term in enumerate(terms):
            if word == term or (query.prefix and index == last and word.startswith(term)):
                return index
        return None

    # The words up to the window of the SNIPPET_CANDIDATES-th match: a long message with thousands
    # of matches is read no further than that (40,000 words, 20,000 matches: 0.3 ms;
    # a 32,000-character message whose only match is its last word is read whole: 11-16 ms).
    words: list[tuple[int, int]] = []
    hits: list[tuple[int, int]] = []  # (word position, term index)
    more = False  # words follow the last one read
    for match in _WORD.finditer(content):
        if len(hits) >= SNIPPET_CANDIDATES and len(words) >= hits[SNIPPET_CANDIDATES - 1][0] + tokens:
            more = True
            break
        word = match.group()
        term = matched(word.lower() if word.isascii() else fold(word))
        if term is not None:
            hits.append((len(words), term))
        words.append((match.start(), match.end()))
    if not words:
        return ""
    start = 0
    if hits:  # the window with the most distinct terms, then the most matches; the earliest on a tie
        best: tuple[int, int] = (-1, -1)
        positions = [position for position, _ in hits]
        for position in positions[:SNIPPET_CANDIDATES]:
            candidate = max(0, min(position - tokens // 2, len(words) - tokens))  # the match near the middle
            first, after = bisect_left(positions, candidate), bisect_left(positions, candidate + tokens)
            inside = [term for _, term in hits[first:after]]
            score = (len(set(inside)), len(inside))
            if score > best:
                best, start = score, candidate
    end = min(len(words), start + tokens)
    marked_at = {position for position, _ in hits}
    parts = ["…"] if start > 0 else []
    cursor = words[start][0] if start > 0 else 0  # from the first word on: what comes before it too
    for position in range(start, end):
        begin, finish = words[position]
        parts.append(content[cursor:begin])
        piece = content[begin:finish]
        parts.append(f"{_OPEN}{piece}{_CLOSE}" if position in marked_at else piece)
        cursor = finish
    parts.append("…" if more or end < len(words) else content[cursor:])  # to the end: its last punctuation too
    return "".join(parts)


def _page_snippet(text: str | None, query: SearchQuery, sqlite: bool) -> str:
    """A returned row's snippet as HTML: SQLite's rows carry their text (marked here), PostgreSQL's
    the database's marked headline."""
    return render_snippet(marked_snippet(text or "", query) if sqlite else text or "")


def _is_sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


# SQLite: FTS5 ranks with bm25 (lower is better) and sorts only the user's hits.
_SQLITE_MESSAGE_PAGE = text(
    """SELECT rowid FROM messages_fts WHERE messages_fts MATCH :match
       ORDER BY rank, rowid DESC LIMIT :limit OFFSET :offset"""
)
_SQLITE_MESSAGE_DETAILS = text(
    """SELECT m.id, m.conversation_id, m.role, m.created_at, c.title, m.content AS snippet
       FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id
       WHERE m.id IN :ids AND c.user_id = :user_id"""
).bindparams(bindparam("ids", expanding=True))
_SQLITE_CONVERSATION_PAGE = text(
    f"""WITH message_hits AS (
         SELECT m.conversation_id AS cid, messages_fts.rowid AS mid, min(messages_fts.rank) AS score
         FROM messages_fts JOIN messages AS m ON m.id = messages_fts.rowid
         WHERE messages_fts MATCH :match GROUP BY m.conversation_id
       ), hits AS (
         SELECT cid, mid, score FROM message_hits
         UNION ALL
         SELECT rowid, NULL, rank * {TITLE_WEIGHT} FROM conversations_fts WHERE conversations_fts MATCH :title_match
       ), best AS (
         SELECT cid, max(mid) AS mid, min(score) AS score FROM hits GROUP BY cid
       )
       SELECT best.cid, best.mid, count(*) OVER () AS total
       FROM best JOIN conversations AS c ON c.id = best.cid
       WHERE c.user_id = :user_id
       ORDER BY best.score, c.updated_at DESC, c.id DESC LIMIT :limit OFFSET :offset"""  # noqa: S608 - module constants only
)
_SQLITE_SNIPPETS = text("SELECT id, content FROM messages WHERE id IN :ids").bindparams(
    bindparam("ids", expanding=True)
)

# PostgreSQL: GIN finds the hits, ts_rank orders the user's (higher is better).
_PG_QUERY = "to_tsquery('conversa_search', :tsquery)"
_PG_TEXT = "translate({}, '<>', '‹›')"  # as indexed (migration 0007): the parser would drop "<...>" as a tag
_PG_MESSAGE_PAGE = text(
    f"""SELECT m.id FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id
       WHERE c.user_id = :user_id AND m.search_vector @@ {_PG_QUERY}
       ORDER BY ts_rank(m.search_vector, {_PG_QUERY}) DESC, m.id DESC LIMIT :limit OFFSET :offset"""  # noqa: S608 - module constants only
)
_PG_MESSAGE_DETAILS = text(
    f"""SELECT m.id, m.conversation_id, m.role, m.created_at, c.title,
              ts_headline('conversa_search', {_PG_TEXT.format("m.content")}, {_PG_QUERY}, :options) AS snippet
       FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id
       WHERE m.id IN :ids AND c.user_id = :user_id"""  # noqa: S608 - module constants only
).bindparams(bindparam("ids", expanding=True))
_PG_CONVERSATION_PAGE = text(
    f"""WITH message_hits AS (
         SELECT DISTINCT ON (m.conversation_id) m.conversation_id AS cid, m.id AS mid,
                ts_rank(m.search_vector, {_PG_QUERY}) AS score
         FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id
         WHERE c.user_id = :user_id AND m.search_vector @@ {_PG_QUERY}
         ORDER BY m.conversation_id, score DESC, m.id DESC
       ), hits AS (
         SELECT cid, mid, score FROM message_hits
         UNION ALL
         SELECT id, NULL, ts_rank(search_vector, {_PG_QUERY}) * {TITLE_WEIGHT} FROM conversations
         WHERE user_id = :user_id AND search_vector @@ {_PG_QUERY}
       ), best AS (
         SELECT cid, max(mid) AS mid, max(score) AS score FROM hits GROUP BY cid
       )
       SELECT best.cid, best.mid, count(*) OVER () AS total
       FROM best JOIN conversations AS c ON c.id = best.cid
       ORDER BY best.score DESC, c.updated_at DESC, c.id DESC LIMIT :limit OFFSET :offset"""  # noqa: S608 - module constants only
)
_PG_SNIPPETS = text(
    f"""SELECT id, ts_headline('conversa_search', {_PG_TEXT.format("content")}, {_PG_QUERY}, :options)
       FROM messages WHERE id IN :ids"""  # noqa: S608 - module constants only
).bindparams(bindparam("ids", expanding=True))


def _details_columns(statement: Any) -> Any:
    return statement.columns(created_at=UTCDateTime)


async def search_messages(
    session: AsyncSession, user_id: int, raw_query: str, *, limit: int, offset: int
) -> tuple[list[MessageHit], bool]:
    """The user's messages that match, best first (then newest); whether more follow the page."""
    query = parse_query(raw_query)
    if query is None:
        return [], False
    sqlite = _is_sqlite(session)
    if sqlite:
        values: dict[str, Any] = {"match": query.fts5("content", user_id)}
        page_statement, details_statement = _SQLITE_MESSAGE_PAGE, _SQLITE_MESSAGE_DETAILS
    else:
        values = {"tsquery": query.tsquery(), "user_id": user_id}
        page_statement, details_statement = _PG_MESSAGE_PAGE, _PG_MESSAGE_DETAILS
    ids = list(await session.scalars(page_statement, {**values, "limit": limit + 1, "offset": offset}))
    has_more = len(ids) > limit
    ids = ids[:limit]
    if not ids:
        return [], has_more
    details: dict[str, Any] = {"ids": ids, "user_id": user_id}
    if not sqlite:  # the database marks the matches; on SQLite `marked_snippet` does, from the content
        details.update(tsquery=values["tsquery"], options=_PG_HEADLINE)
    rows = await session.execute(_details_columns(details_statement), details)
    by_id = {
        row.id: MessageHit(
            conversation_id=row.conversation_id,
            conversation_title=row.title,
            message_id=row.id,
            role=row.role,
            snippet=_page_snippet(row.snippet, query, sqlite),
            created_at=row.created_at,
        )
        for row in rows
    }
    return [by_id[message_id] for message_id in ids if message_id in by_id], has_more


async def search_conversations(
    session: AsyncSession, user_id: int, raw_query: str, *, limit: int, offset: int
) -> tuple[list[ConversationHit], int]:
    """The user's conversations whose title or messages match, best first (then newest activity)."""
    query = parse_query(raw_query)
    if query is None:
        return [], 0
    sqlite = _is_sqlite(session)
    if sqlite:
        values: dict[str, Any] = {
            "match": query.fts5("content", user_id),
            "title_match": query.fts5("title", user_id),
            "user_id": user_id,
        }
        page_statement, snippet_statement = _SQLITE_CONVERSATION_PAGE, _SQLITE_SNIPPETS
    else:
        values = {"tsquery": query.tsquery(), "user_id": user_id}
        page_statement, snippet_statement = _PG_CONVERSATION_PAGE, _PG_SNIPPETS
    rows = list(await session.execute(page_statement, {**values, "limit": limit, "offset": offset}))
    if not rows:
        total = 0
        if offset > 0:  # past the end: the count comes from the first page
            first = (await session.execute(page_statement, {**values, "limit": 1, "offset": 0})).first()
            total = int(first.total) if first else 0
        return [], total
    total = int(rows[0].total)
    message_ids = [row.mid for row in rows if row.mid is not None]
    snippets: dict[int, str] = {}
    if message_ids:
        snippet_values: dict[str, Any] = {"ids": message_ids}
        if not sqlite:
            snippet_values.update(tsquery=values["tsquery"], options=_PG_HEADLINE)
        snippets = {
            int(row[0]): _page_snippet(row[1], query, sqlite)
            for row in await session.execute(snippet_statement, snippet_values)
        }
    conversations = {
        c.id: c
        for c in await session.scalars(
            select(Conversation).where(Conversation.id.in_([row.cid for row in rows]), Conversation.user_id == user_id)
        )
    }
    return [
        ConversationHit(conversations[row.cid], row.mid, snippets.get(row.mid) if row.mid is not None else None)
        for row in rows
        if row.cid in conversations
    ], total
