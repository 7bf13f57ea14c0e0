"""Google Search grounding: the provider's metadata turned into what a reply stores and shows.

Stored in `messages.grounding` (JSON):
    {"sources": [{"title", "url"}],            deduplicated by URL, in the order the text cites them
     "supports": [{"start", "end", "sources"}], character offsets into the reply's text, source indices
     "search_entry_point": "<html>" | null,    Google's rendered search suggestions (shown sandboxed)
     "queries": ["..."]}
Gemini gives segment offsets in bytes of the UTF-8 text; they become character offsets here.
"""

from __future__ import annotations

from typing import Any


def _get(mapping: Any, *names: str) -> Any:
    """A field under its snake_case or camelCase name (the SDK's dump or the raw API)."""
    if not isinstance(mapping, dict):
        return None
    for name in names:
        value = mapping.get(name)
        if value is not None:
            return value
    return None


def normalize_grounding(raw: dict[str, Any] | None, text: str) -> dict[str, Any] | None:
    """What a reply keeps of `raw` (None when it holds no source and no search suggestions)."""
    if not raw:
        return None
    chunks = _get(raw, "grounding_chunks", "groundingChunks") or []
    supports_raw = _get(raw, "grounding_supports", "groundingSupports") or []
    entry = _get(raw, "search_entry_point", "searchEntryPoint")
    rendered = _get(entry, "rendered_content", "renderedContent")
    queries = [str(q) for q in _get(raw, "web_search_queries", "webSearchQueries") or []]

    webs: list[tuple[str, str] | None] = []
    for chunk in chunks:
        web = _get(chunk, "web")
        uri = _get(web, "uri")
        # Only web links: a source is shown as a link a person clicks (never javascript:, data:, ...).
        safe = isinstance(uri, str) and uri.lower().startswith(("https://", "http://"))
        webs.append((str(_get(web, "title") or _get(web, "domain") or uri), uri) if safe else None)

    encoded = text.encode()
    sources: list[dict[str, str]] = []
    index_of: dict[str, int] = {}

    def source_index(chunk_index: int) -> int | None:
        if not 0 <= chunk_index < len(webs) or webs[chunk_index] is None:
            return None
        title, url = webs[chunk_index]  # type: ignore[misc]
        if url not in index_of:
            index_of[url] = len(sources)
            sources.append({"title": title, "url": url})
        return index_of[url]

    ordered = sorted(
        (s for s in supports_raw if isinstance(s, dict)),
        key=lambda s: int(_get(_get(s, "segment"), "end_index", "endIndex") or 0),
    )
    supports: list[dict[str, Any]] = []
    for support in ordered:
        segment = _get(support, "segment")
        end_byte = int(_get(segment, "end_index", "endIndex") or 0)
        start_byte = int(_get(segment, "start_index", "startIndex") or 0)
        cited = [source_index(int(i)) for i in _get(support, "grounding_chunk_indices", "groundingChunkIndices") or []]
        cited_sources = list(dict.fromkeys(i for i in cited if i is not None))
        if not cited_sources or end_byte <= start_byte:
            continue
        start = len(encoded[:start_byte].decode("utf-8", "ignore"))
        end = min(len(text), len(encoded[:end_byte].decode("utf-8", "ignore")))
        supports.append({"start": start, "end": end, "sources": cited_sources})
    for chunk_index in range(len(webs)):  # sources no support cites still count, after the cited ones
        source_index(chunk_index)
    if not sources and not rendered:
        return None
    return {
        "sources": sources,
        "supports": supports,
        "search_entry_point": str(rendered) if rendered else None,
        "queries": queries,
    }
