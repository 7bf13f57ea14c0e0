import type { Source } from "../types";

/** The pages a grounded reply cites, numbered as its markers are; they open in a new tab. */
const isWebLink = (url: string) => /^https?:\/\//i.test(url);

export function SourcesList({ sources, label }: { sources: Source[]; label: string }) {
  if (sources.length === 0) return null;
  return (
    <nav className="sources" aria-label={label}>
      <h3 className="sources-title">{label}</h3>
      <ol>
        {sources.map((source, index) => (
          <li key={`${index}-${source.url}`}>
            {isWebLink(source.url) ? (
              <a href={source.url} target="_blank" rel="noopener noreferrer">
                {source.title || source.url}
              </a>
            ) : (
              // The server keeps only web links; any other URL is never made a link (numbering stays).
              <span>{source.title}</span>
            )}
          </li>
        ))}
      </ol>
    </nav>
  );
}

// Links in the suggestions open in a new tab: the frame itself never navigates.
const BASE = '<base target="_blank">';

/**
 * Google's search suggestions, as Google renders them (its terms ask that they be shown). The HTML
 * comes from outside: it lives in a frame whose sandbox allows no script and keeps it in an
 * opaque origin (no same-origin), so it can touch neither the page nor its storage; only the
 * popups its links open are allowed.
 */
export function SearchSuggestions({ html, label }: { html: string; label: string }) {
  return (
    <iframe
      className="search-suggestions"
      title={label}
      sandbox="allow-popups allow-popups-to-escape-sandbox"
      referrerPolicy="no-referrer"
      srcDoc={BASE + html}
      data-testid="search-suggestions"
    />
  );
}
