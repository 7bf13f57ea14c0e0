import { render } from "@testing-library/react";
import type { ComponentProps } from "react";
import { describe, expect, it, vi } from "vitest";
import Markdown from "./Markdown";

// Every Markdown parse, by the text parsed.
const parsed = vi.hoisted(() => [] as string[]);
vi.mock("react-markdown", async (importOriginal) => {
  const real = await importOriginal<typeof import("react-markdown")>();
  return {
    ...real,
    default: (props: ComponentProps<typeof real.default>) => {
      parsed.push(String(props.children));
      return real.default(props);
    },
  };
});

describe("Markdown while streaming", () => {
  it("parses each finished block once and only the growing one again", () => {
    const table = "| a | b |\n|---|---|\n| 1 | 2 |";
    const { container, rerender } = render(<Markdown text={"Intro\n\n" + table + "\n\nGrow"} streaming />);
    parsed.length = 0;
    rerender(<Markdown text={"Intro\n\n" + table + "\n\nGrowing"} streaming />);
    rerender(<Markdown text={"Intro\n\n" + table + "\n\nGrowing more"} streaming />);
    expect(parsed).toEqual(["Growing", "Growing more"]);
    expect(container.querySelector("table")).not.toBeNull();
    expect(container.querySelectorAll("p")).toHaveLength(2);
  });

  it("keeps the parsed blocks when the reply finishes", () => {
    const text = "Intro\n\n- one\n- two";
    const { container, rerender } = render(<Markdown text={text} streaming />);
    parsed.length = 0;
    rerender(<Markdown text={text} />);
    expect(parsed).toEqual([]);
    expect(container.querySelectorAll("li")).toHaveLength(2);
  });

  it("parses a finished text with definitions whole, so its references resolve", () => {
    parsed.length = 0;
    const text = "See [the docs][docs].\n\n[docs]: https://example.com/docs";
    const { container } = render(<Markdown text={text} />);
    expect(parsed).toEqual([text]);
    expect(container.querySelector("a")).toHaveAttribute("href", "https://example.com/docs");
  });

  it("renders block by block the same elements as one parse of the whole text", () => {
    const text = [
      "# Title",
      "Some *text*\nover two lines.",
      "1. first\n\n   more about it\n\n2. second",
      "- a\n- b",
      "```python\ndef f():\n\n    return 1\n```",
      "| a | b |\n|---|---|\n| 1 | 2 |",
      "> quoted\n\n> again",
      "---",
      "The end.",
    ].join("\n\n");
    const blocks = render(<Markdown text={text} />).container.innerHTML;
    // A definition nothing uses renders nothing, and makes Markdown parse the text whole.
    const whole = render(<Markdown text={`${text}\n\n[unused]: https://example.com`} />).container.innerHTML;
    // One parse keeps the newlines between blocks as text; between blocks they render nothing.
    const elements = (html: string) => html.replace(/>\n</g, "><");
    expect(elements(blocks)).toBe(elements(whole));
  });
});
