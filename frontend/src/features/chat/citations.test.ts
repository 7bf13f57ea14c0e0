import { describe, expect, it } from "vitest";
import { withCitationMarkers } from "./citations";

const SOURCES = [
  { title: "A", url: "https://a.example/x" },
  { title: "B", url: "https://b.example/y" },
];

describe("withCitationMarkers", () => {
  it("puts linked numbers after each cited span, numbered as the sources", () => {
    const text = "One. Two.";
    const marked = withCitationMarkers(text, [
      { start: 0, end: 4, sources: [0] },
      { start: 5, end: 9, sources: [1, 0] },
    ], SOURCES);
    expect(marked).toBe(
      'One.[\\[1\\]](https://a.example/x "A") Two.[\\[2\\]](https://b.example/y "B")[\\[1\\]](https://a.example/x "A")',
    );
  });

  it("leaves code blocks, unknown sources and spans out of range alone", () => {
    const text = "```\ncode\n```\nAfter.";
    expect(withCitationMarkers(text, [{ start: 4, end: 8, sources: [0] }], SOURCES)).toBe(text);
    expect(withCitationMarkers("Hi.", [{ start: 0, end: 3, sources: [5] }], SOURCES)).toBe("Hi.");
    expect(withCitationMarkers("Hi.", [{ start: 0, end: 99, sources: [0] }], SOURCES)).toBe("Hi.");
  });
});
