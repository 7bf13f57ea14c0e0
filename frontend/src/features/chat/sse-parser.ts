export interface SseEvent {
  event: string;
  data: string;
}

/**
 * An incremental parser for `text/event-stream` (the WHATWG rules that matter here):
 * lines end in LF, CRLF or CR, `:` starts a comment, several `data:` lines join with LF,
 * a blank line dispatches the event.
 */
export function createSseParser(onEvent: (event: SseEvent) => void) {
  let buffer = "";
  let eventName = "";
  let dataLines: string[] = [];

  function dispatch() {
    if (dataLines.length > 0) onEvent({ event: eventName || "message", data: dataLines.join("\n") });
    eventName = "";
    dataLines = [];
  }

  function processLine(line: string) {
    if (line === "") return dispatch();
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") eventName = value;
    else if (field === "data") dataLines.push(value);
  }

  return {
    feed(chunk: string) {
      buffer += chunk;
      let start = 0;
      for (let index = 0; index < buffer.length; index++) {
        const char = buffer[index];
        if (char !== "\n" && char !== "\r") continue;
        // A CR at the very end may be the first half of a CRLF split across chunks.
        if (char === "\r" && index === buffer.length - 1) break;
        processLine(buffer.slice(start, index));
        if (char === "\r" && buffer[index + 1] === "\n") index++;
        start = index + 1;
      }
      buffer = buffer.slice(start);
    },
    end() {
      if (buffer.length > 0) processLine(buffer.replace(/\r$/, ""));
      buffer = "";
      dispatch();
    },
  };
}
