import { describe, expect, it } from "vitest";
import { readChatEvents } from "./api";
import { createSseParser, type SseEvent } from "./sse-parser";
import type { ChatStreamEvent } from "./types";

function parseAll(chunks: string[]): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createSseParser((event) => events.push(event));
  chunks.forEach((chunk) => parser.feed(chunk));
  parser.end();
  return events;
}

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      chunks.forEach((chunk) => controller.enqueue(chunk));
      controller.close();
    },
  });
}

describe("createSseParser", () => {
  it("reads named events with JSON data", () => {
    expect(parseAll(['event: token\ndata: {"text":"Hi"}\n\n'])).toEqual([{ event: "token", data: '{"text":"Hi"}' }]);
  });

  it("joins events split anywhere across chunks, CRLF included", () => {
    const text = 'event: start\r\ndata: {"a":1}\r\n\r\nevent: token\r\ndata: {"text":"x"}\r\n\r\n';
    for (let cut = 1; cut < text.length; cut++) {
      expect(parseAll([text.slice(0, cut), text.slice(cut)])).toEqual([
        { event: "start", data: '{"a":1}' },
        { event: "token", data: '{"text":"x"}' },
      ]);
    }
  });

  it("ignores comments such as the keep-alive ping", () => {
    expect(parseAll([": ping\n\n", "data: 1\n\n"])).toEqual([{ event: "message", data: "1" }]);
  });

  it("joins several data lines with a newline and defaults the event name", () => {
    expect(parseAll(["data: one\ndata: two\n\n"])).toEqual([{ event: "message", data: "one\ntwo" }]);
  });

  it("keeps the value as is after the single optional space", () => {
    expect(parseAll(["data:  two spaces\n\n", "data:none\n\n"])).toEqual([
      { event: "message", data: " two spaces" },
      { event: "message", data: "none" },
    ]);
  });

  it("dispatches a last event that had no blank line before the stream ended", () => {
    expect(parseAll(["event: done\ndata: {}"])).toEqual([{ event: "done", data: "{}" }]);
  });

  it("does not carry an event name over to the next event", () => {
    expect(parseAll(["event: title\ndata: 1\n\ndata: 2\n\n"])).toEqual([
      { event: "title", data: "1" },
      { event: "message", data: "2" },
    ]);
  });
});

describe("readChatEvents", () => {
  it("decodes UTF-8 split inside a character and types the events", async () => {
    const bytes = new TextEncoder().encode(
      'event: token\ndata: {"text":"ação ✓"}\n\n: ping\n\nevent: done\ndata: {"assistant_message":null}\n\nevent: unknown\ndata: {}\n\n',
    );
    const cut = bytes.indexOf(0xc3) + 1; // in the middle of "ç"
    const events: ChatStreamEvent[] = [];
    await readChatEvents(streamOf([bytes.slice(0, cut), bytes.slice(cut)]), (event) => events.push(event));
    expect(events).toEqual([
      { type: "token", text: "ação ✓" },
      { type: "done", assistant_message: null },
    ]);
  });

  it("skips data that is not JSON", async () => {
    const events: ChatStreamEvent[] = [];
    await readChatEvents(streamOf([new TextEncoder().encode("event: token\ndata: not json\n\n")]), (event) =>
      events.push(event),
    );
    expect(events).toEqual([]);
  });
});
