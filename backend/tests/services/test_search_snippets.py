"""SQLite's snippets are built in Python from the page's rows (app.services.search.marked_snippet):
they must mark exactly the words FTS5's own snippet() marks, with the app's tokenizer."""

from __future__ import annotations

import re
import sqlite3
import unicodedata

import pytest

from app.services.search import SNIPPET_TOKENS, marked_snippet, parse_query, render_snippet

TEXTS = [
    "O orçamento de 2025 ficou pronto. ORÇAMENTO aprovado, orcamento revisto!",
    "Nothing here matches at all, but the words go on and on for a while longer than sixteen tokens do.",
    "Algoritmos e algorítmico: o algoritmo certo. Algorithm in English is another word.",
    "<script>alert('x')</script> ação & reação: a ação_certa <b>Ação</b>",
    "Ação",
    " ...leading punctuation, then café, CAFÉ and cafeteria; and a trailing café.",
    "um dois três quatro cinco seis sete oito nove dez onze doze treze catorze quinze "
    "dezesseis dezessete dezoito dezenove vinte gatos e cães, vinte e um vinte e dois",
    "Über naïve façade: the naive facade, über alles. Straße and strasse.",
    "Decomposed: a\u00e7a\u0303o is ac\u0327a\u0303o, written another way.",
]
QUERIES = ["orcamento", "algorit", "acao", "cafe", "gatos caes", "naive facade", "uber", "strasse", "vinte gatos"]
MARKS = re.compile("\x02(.*?)\x03", re.S)


def marked(snippet: str) -> list[str]:
    return [unicodedata.normalize("NFC", word) for word in MARKS.findall(snippet)]


@pytest.fixture(scope="module")
def fts() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    # As migration 0007 creates messages_fts.
    db.execute("CREATE VIRTUAL TABLE t USING fts5(content, tokenize='unicode61 remove_diacritics 2', prefix='3')")
    db.executemany("INSERT INTO t (rowid, content) VALUES (?, ?)", enumerate(TEXTS, start=1))
    return db


@pytest.mark.parametrize("raw", QUERIES)
def test_the_same_words_are_marked_as_fts5_marks_them(fts: sqlite3.Connection, raw: str) -> None:
    query = parse_query(raw)
    assert query is not None
    rows = fts.execute(
        f"SELECT rowid, snippet(t, 0, char(2), char(3), '…', {SNIPPET_TOKENS}) FROM t WHERE t MATCH ?",  # noqa: S608
        (query.fts5("content", None),),
    ).fetchall()
    assert rows, raw  # every query finds something in TEXTS
    for rowid, theirs in rows:
        ours = marked_snippet(TEXTS[rowid - 1], query)
        # The same words marked (ours come NFC-normalised: a decomposed accent reads the same).
        assert marked(ours) == marked(theirs), (raw, theirs, ours)
        assert len(re.findall(r"[^\W_]+", ours)) <= SNIPPET_TOKENS


def test_a_snippet_is_the_text_around_the_match_with_ellipses() -> None:
    long = TEXTS[6]
    query = parse_query("gatos")
    assert query is not None
    snippet = marked_snippet(long, query)
    assert snippet.startswith("…")
    assert snippet.endswith("…")
    assert "\x02gatos\x03" in snippet
    assert marked_snippet("Ação", parse_query("acao")) == "\x02Ação\x03"  # type: ignore[arg-type]
    assert marked_snippet("", parse_query("acao")) == ""  # type: ignore[arg-type]


def test_the_rendered_snippet_escapes_the_text_and_keeps_only_the_marks() -> None:
    query = parse_query("acao")
    assert query is not None
    rendered = render_snippet(marked_snippet(TEXTS[3], query))
    assert "<script>" not in rendered
    assert "<b>" not in rendered
    assert "&lt;script&gt;" in rendered
    assert rendered.count("<mark>") == 3  # ação, the ação of ação_certa (_ separates words), Ação; not reação


def test_a_long_message_with_many_matches_gives_one_short_window() -> None:
    query = parse_query("orcamento")
    assert query is not None
    many = " ".join(["orçamento palavra"] * 20_000)
    snippet = marked_snippet(many, query)
    assert snippet.endswith("…")
    assert len(re.findall(r"[^\W_]+", snippet)) == SNIPPET_TOKENS
    assert snippet.count("\x02") == SNIPPET_TOKENS // 2
    at_the_end = " ".join(["ação x"] * 3_000) + " e o orçamento."
    snippet = marked_snippet(at_the_end, query)
    assert snippet.startswith("…")
    assert snippet.endswith("\x02orçamento\x03.")
