import { render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import Markdown from "./Markdown";

function renderMarkdown(text: string) {
  return render(<Markdown text={text} />).container;
}

describe("Markdown", () => {
  it("renders GFM: emphasis, lists and tables", () => {
    const container = renderMarkdown("**bold**\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |");
    expect(container.querySelector("strong")).toHaveTextContent("bold");
    expect(container.querySelectorAll("li")).toHaveLength(2);
    expect(container.querySelector("table td")).toHaveTextContent("1");
  });

  it("never renders raw HTML", () => {
    const container = renderMarkdown(
      'Hi <script>window.hacked = true</script><img src=x onerror="window.hacked=true"><iframe src="https://evil.test"></iframe><b onclick="x()">b</b>',
    );
    expect(container.querySelector("script, img, iframe, b, [onerror], [onclick]")).toBeNull();
    expect((window as unknown as { hacked?: boolean }).hacked).toBeUndefined();
  });

  it("drops javascript: and data: links but keeps the text", () => {
    const container = renderMarkdown("[click](javascript:alert(1)) [data](data:text/html,<script>alert(1)</script>) [vb](vbscript:x)");
    for (const link of container.querySelectorAll("a")) {
      expect(link.getAttribute("href") ?? "").not.toMatch(/^(javascript|data|vbscript):/i);
    }
    expect(container).toHaveTextContent("click");
  });

  it("opens links in a new tab without an opener", () => {
    renderMarkdown("[docs](https://example.com/docs)");
    const link = screen.getByRole("link", { name: "docs" });
    expect(link).toHaveAttribute("href", "https://example.com/docs");
    expect(link).toHaveAttribute("target", "_blank");
    expect(link).toHaveAttribute("rel", "noopener noreferrer");
  });

  it("shows code blocks with their language, a copy button and highlighting loaded later", async () => {
    const container = renderMarkdown("```python\nprint('<b>hi</b>')\n```");
    expect(screen.getByText("python")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Copy code" })).toBeInTheDocument();
    await waitFor(() => expect(container.querySelector("code.hljs span")).not.toBeNull());
    expect(container.querySelector("code b")).toBeNull();
    expect(container.querySelector("code")).toHaveTextContent("print('<b>hi</b>')");
  });

  it("drops attributes that could carry script out of code fences' class names", () => {
    const container = renderMarkdown('```js" onmouseover="alert(1)\nx\n```');
    expect(container.querySelector("[onmouseover]")).toBeNull();
  });
});
