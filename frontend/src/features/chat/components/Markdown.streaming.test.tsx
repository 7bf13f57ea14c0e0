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

  it("parses the finished reply as one document", () => {
    parsed.length = 0;
    const text = "Intro\n\n- one\n- two";
    const { container } = render(<Markdown text={text} />);
    expect(parsed).toEqual([text]);
    expect(container.querySelectorAll("li")).toHaveLength(2);
  });
});
