const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const BLANK = /^[ \t]*$/;

/**
 * Splits Markdown that is still growing into the blocks that can no longer change and the tail
 * that can. A block is settled once a blank line outside a code fence is followed by a line that
 * is not indented (an indented one may continue a list item). The streaming reply renders each
 * settled block once and re-parses only the tail; the finished reply is parsed whole again.
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
      if (afterBlank && !/^[ \t]/.test(line)) {
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
