import type { Citation, Source } from "./types";

/** Whether offset `at` of Markdown `text` is inside a fenced code block (``` or ~~~). */
function insideCode(text: string, at: number): boolean {
  const fences = text.slice(0, at).match(/^(```|~~~)/gm);
  return (fences?.length ?? 0) % 2 === 1;
}

/**
 * `text` with a numbered marker after each cited span: `[1]` links to the first source, numbered
 * as the Sources list is. The stored text never holds them; spans inside code get none.
 */
export function withCitationMarkers(text: string, citations: Citation[], sources: Source[]): string {
  const ends = [...citations].filter((c) => c.end > 0 && c.end <= text.length).sort((a, b) => b.end - a.end);
  let result = text;
  for (const citation of ends) {
    if (insideCode(text, citation.end)) continue;
    const markers = citation.sources
      .filter((index) => sources[index] !== undefined)
      .map((index) => `[\\[${index + 1}\\]](${encodeURI(sources[index]?.url ?? "")} "${escapeTitle(sources[index]?.title ?? "")}")`)
      .join("");
    if (markers) result = result.slice(0, citation.end) + markers + result.slice(citation.end);
  }
  return result;
}

function escapeTitle(title: string): string {
  return title.replace(/["\\]/g, "");
}
