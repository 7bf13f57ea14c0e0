const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const BLANK = /^[ \t]*$/;
// After a blank line these still belong to the block above: an indented continuation, the next item of a loose list.
const CONTINUES = /^([ \t]|[*+-]([ \t]|$)|\d{1,9}[.)]([ \t]|$))/;
// Link reference and footnote definitions reach across blocks.
const DEFINITION = /^ {0,3}\[[^\]\n]+\]:/m;

/** Whether the blocks of `text` render as the whole text does (no definitions that other blocks use). */
export function blocksRenderAlike(text: string): boolean {
  return !DEFINITION.test(text);
}

/**
 * Splits Markdown into the blocks that can no longer change as text is appended and the tail that
 * can. A block is settled once a blank line outside a code fence is followed by a line that starts
 * a new block (not indented, not a list item). Rendered one by one, the blocks make the same
 * elements as the whole text, so a reply is parsed a block at a time, each block once.
 */
export function splitSettledBlocks(text: string): { settled: string[]; tail: string } {
  const settled: string[] = [];
  let blockStart = 0;
  let fence: string | null = null;
  let afterBlank = false;
  let lineStart = 0;
  while (lineStart <= text.length) {
    const newline = text.indexOf("\n", lineStart);
    const lineEnd = newline === -1 ? text.length : newline;
    const line = text.slice(lineStart, lineEnd);
    if (fence !== null) {
      const match = FENCE.exec(line);
      if (match?.[1] && match[1][0] === fence[0] && match[1].length >= fence.length && BLANK.test(line.slice(match[0].length))) {
        fence = null;
      }
    } else if (BLANK.test(line)) {
      afterBlank = lineStart > blockStart;
    } else {
      // A line still arriving can only grow: if it starts unindented, it starts a new block.
      if (afterBlank && !CONTINUES.test(line)) {
        settled.push(text.slice(blockStart, lineStart).replace(/\n+$/, ""));
        blockStart = lineStart;
      }
      afterBlank = false;
      const match = FENCE.exec(line);
      if (match?.[1]) fence = match[1];
    }
    if (newline === -1) break;
    lineStart = newline + 1;
  }
  return { settled, tail: text.slice(blockStart) };
}
