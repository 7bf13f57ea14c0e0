import { describe, expect, it } from "vitest";
import { blocksRenderAlike, splitSettledBlocks } from "./markdown-blocks";

describe("splitSettledBlocks", () => {
  it("keeps everything in the tail until a blank line is followed by a new block", () => {
    expect(splitSettledBlocks("Hello wor")).toEqual({ settled: [], tail: "Hello wor" });
    expect(splitSettledBlocks("Hello world\n\n")).toEqual({ settled: [], tail: "Hello world\n\n" });
    expect(splitSettledBlocks("Hello world\n\n## Next\nmore")).toEqual({
      settled: ["Hello world"],
      tail: "## Next\nmore",
    });
  });

  it("never splits inside a code fence, blank lines included", () => {
    const code = "```python\ndef f():\n\n    return 1\n\n```";
    expect(splitSettledBlocks(`${code}\n\nAfter\n`)).toEqual({ settled: [code], tail: "After\n" });
    expect(splitSettledBlocks("```js\nlet a;\n\nlet b;\n")).toEqual({ settled: [], tail: "```js\nlet a;\n\nlet b;\n" });
  });

  it("closes a fence only with the same marker, at least as long", () => {
    const text = "~~~~\n```\n\nstill code\n~~~~\n\nText\n";
    expect(splitSettledBlocks(text).settled).toEqual(["~~~~\n```\n\nstill code\n~~~~"]);
  });

  it("keeps a loose list and its indented continuations in one block", () => {
    const list = "1. First\n\n   more about it\n\n2. Second\n\n- third";
    expect(splitSettledBlocks(`${list}\n\nAfter`)).toEqual({ settled: [list], tail: "After" });
  });

  it("settles a table and a paragraph as separate blocks", () => {
    const text = "| a | b |\n|---|---|\n| 1 | 2 |\n\nSome text\n\n## Next\n";
    expect(splitSettledBlocks(text)).toEqual({
      settled: ["| a | b |\n|---|---|\n| 1 | 2 |", "Some text"],
      tail: "## Next\n",
    });
  });

  it("says when definitions need the whole text", () => {
    expect(blocksRenderAlike("See [the docs][docs].\n\n[docs]: https://example.com")).toBe(false);
    expect(blocksRenderAlike("A note[^1].\n\n[^1]: The note.")).toBe(false);
    expect(blocksRenderAlike("[a link](https://example.com) and `[x]: y` in code")).toBe(true);
  });

  it("loses no text", () => {
    const text = "# Title\n\nPara one\nline two\n\n```\nx\n```\n\n| a |\n|---|\n\nend";
    const { settled, tail } = splitSettledBlocks(text);
    expect(settled.join("\n\n") + "\n\n" + tail).toBe(text);
  });
});
