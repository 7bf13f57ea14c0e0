import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { Snippet, snippetParts } from "./Snippet";

describe("Snippet", () => {
  it("splits the marked words from the text and unescapes the rest", () => {
    expect(snippetParts("Tom &amp; Jerry &lt;b&gt; <mark>banana</mark> split")).toEqual([
      { text: "Tom & Jerry <b> ", marked: false },
      { text: "banana", marked: true },
      { text: " split", marked: false },
    ]);
  });

  it("renders markup in the text as text, never as elements", () => {
    const { container } = render(<Snippet snippet={'&lt;img src=x onerror=alert(1)&gt; <mark>gato</mark>'} />);
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelectorAll("mark")).toHaveLength(1);
    expect(container.textContent).toBe("<img src=x onerror=alert(1)> gato");
  });
});
