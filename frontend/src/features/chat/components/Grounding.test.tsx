import { render, screen, within } from "@testing-library/react";
import { act } from "react";
import { describe, expect, it } from "vitest";
import i18n from "../../../lib/i18n";
import { message } from "../test-messages";
import type { Message } from "../types";
import { SearchSuggestions, SourcesList } from "./Grounding";
import { MessageItem } from "./MessageItem";
import { ReasoningBlock } from "./ReasoningBlock";

const SOURCES = [
  { title: "example.com", url: "https://example.com/a" },
  { title: "wikipedia.org", url: "https://wikipedia.org/b" },
];

describe("SourcesList", () => {
  it("lists the sources numbered, opening in a new tab without opener or referrer", () => {
    render(<SourcesList sources={SOURCES} label="Sources" />);
    const nav = screen.getByRole("navigation", { name: "Sources" });
    const links = within(nav).getAllByRole("link");
    expect(links.map((link) => link.textContent)).toEqual(["example.com", "wikipedia.org"]);
    for (const link of links) {
      expect(link).toHaveAttribute("target", "_blank");
      expect(link).toHaveAttribute("rel", "noopener noreferrer");
    }
    expect(nav.querySelector("ol")).not.toBeNull();
  });

  it("never makes a link of a URL that is not a web page", () => {
    render(<SourcesList sources={[{ title: "evil", url: "javascript:alert(1)" }, ...SOURCES]} label="Sources" />);
    expect(screen.getByText("evil").closest("a")).toBeNull();
    expect(screen.getAllByRole("link")).toHaveLength(2);
  });

  it("shows nothing without sources", () => {
    const { container } = render(<SourcesList sources={[]} label="Sources" />);
    expect(container).toBeEmptyDOMElement();
  });
});

describe("SearchSuggestions", () => {
  it("puts Google's HTML in a frame that may run no script and has no same origin", () => {
    render(
      <SearchSuggestions
        html={'<div class="chip">conversa</div><script>parent.document.title="x"</script>'}
        label="Google Search suggestions"
      />,
    );
    const frame = screen.getByTitle("Google Search suggestions");
    const sandbox = frame.getAttribute("sandbox") ?? "";
    expect(frame.hasAttribute("sandbox")).toBe(true);
    expect(sandbox.split(/\s+/)).not.toContain("allow-scripts");
    expect(sandbox.split(/\s+/)).not.toContain("allow-same-origin");
    expect(frame.getAttribute("srcdoc")).toContain('<div class="chip">conversa</div>');
    // Nothing of it reached the page itself.
    expect(document.querySelector(".chip")).toBeNull();
  });
});

const summary = (seconds: number, live: boolean) => (live ? `Thinking… ${seconds} s` : `Thought for ${seconds} s`);

describe("ReasoningBlock", () => {
  it("is collapsed under how long the model thought, and opens to the thoughts", () => {
    render(<ReasoningBlock reasoning="Pensando no problema." reasoningMs={4200} live={false} summary={summary} />);
    const block = screen.getByTestId("reasoning");
    expect(block).not.toHaveAttribute("open");
    expect(within(block).getByText("Thought for 4 s")).toBeInTheDocument();
    expect(within(block).getByText("Pensando no problema.")).not.toBeVisible();
  });

  it("counts while the model thinks", () => {
    render(<ReasoningBlock reasoning="..." reasoningMs={null} live summary={summary} />);
    expect(screen.getByText("Thinking… 1 s")).toBeInTheDocument();
  });
});

describe("MessageItem with thoughts and sources", () => {
  const grounded: Message = {
    ...message(2, "assistant", "Conversa é um app. Ele é leve."),
    model: "gemini-2.5-flash",
    reasoning: "Lendo a pergunta.",
    reasoning_ms: 1200,
    sources: SOURCES,
    citations: [
      { start: 0, end: 18, sources: [0] },
      { start: 19, end: 30, sources: [1, 0] },
    ],
    search_entry_point: "<b>sugestões</b>",
  };

  it("shows the model, the thoughts apart, numbered markers after the cited spans and the sources", async () => {
    render(
      <MessageItem
        message={grounded}
        streaming={false}
        canRegenerate={false}
        canEdit={false}
        onRegenerate={() => undefined}
        onEdit={() => false}
        onSwitch={() => undefined}
      />,
    );
    expect(screen.getByTestId("message-model")).toHaveTextContent("gemini-2.5-flash");
    expect(await screen.findByTestId("reasoning")).toHaveTextContent("Thought for 1 s");
    const markdown = await screen.findByText(/Conversa é um app\./, { selector: ".markdown p" });
    const markers = within(markdown).getAllByRole("link");
    expect(markers.map((link) => [link.textContent, link.getAttribute("href")])).toEqual([
      ["[1]", "https://example.com/a"],
      ["[2]", "https://wikipedia.org/b"],
      ["[1]", "https://example.com/a"],
    ]);
    expect(markdown.textContent).toBe("Conversa é um app.[1] Ele é leve.[2][1]");
    expect(markdown.textContent).not.toContain("Lendo a pergunta"); // thoughts are never in the answer
    expect(screen.getByRole("navigation", { name: "Sources" })).toBeInTheDocument();
    expect(screen.getByTestId("search-suggestions")).toHaveAttribute("srcdoc", expect.stringContaining("<b>sugestões</b>"));
  });

  it("says it in Portuguese too", async () => {
    await act(() => i18n.changeLanguage("pt-BR"));
    try {
      render(
        <MessageItem
          message={{ ...grounded, reasoning_ms: 2600 }}
          streaming={false}
          canRegenerate={false}
          canEdit={false}
          onRegenerate={() => undefined}
          onEdit={() => false}
          onSwitch={() => undefined}
        />,
      );
      expect(await screen.findByText("Pensou por 3 s")).toBeInTheDocument();
      expect(screen.getByRole("navigation", { name: "Fontes" })).toBeInTheDocument();
    } finally {
      await act(() => i18n.changeLanguage("en"));
    }
  });
});
