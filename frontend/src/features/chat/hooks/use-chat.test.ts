import { act, renderHook, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { message } from "../test-messages";
import type { Message } from "../types";
import { PENDING_ASSISTANT_ID, useChat } from "./use-chat";


function sse(events: [string, unknown][]): string {
  return events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`).join("");
}

const json = (body: unknown) => new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } });

/**
 * A fetch that answers the stream routes with `body`, left open when `keepOpen` (until aborted or
 * stopped: POST .../stop ends it with the `stopped` error carrying `stoppedReply`). Nothing is being
 * generated for GET .../stream (204), and the saved messages are `saved`.
 */
function mockFetch(
  body: string,
  { keepOpen = false, status = 200, stoppedReply = null as Message | null, saved = [] as Message[] } = {},
) {
  let open: ReadableStreamDefaultController<Uint8Array> | null = null;
  const fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
    const method = init?.method ?? "GET";
    if (url.endsWith("/stop")) {
      open?.enqueue(new TextEncoder().encode(sse([["error", { code: "stopped", message: "", assistant_message: stoppedReply }]])));
      open?.close();
      open = null;
      return json({ stopped: true });
    }
    if (method === "GET" && url.endsWith("/stream")) return new Response(null, { status: 204 });
    if (method === "GET" && url.includes("/messages")) return json({ items: saved, has_more: false });
    if (status !== 200) return new Response(JSON.stringify({ detail: "nope" }), { status });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(body));
        if (keepOpen) open = controller;
        else controller.close();
        init?.signal?.addEventListener("abort", () => controller.error(new DOMException("Aborted", "AbortError")));
      },
    });
    return new Response(stream, { headers: { "Content-Type": "text/event-stream" } });
  });
  vi.stubGlobal("fetch", fetchMock);
  return fetchMock;
}

function renderChat() {
  const callbacks = { onConversationStarted: vi.fn(), onTitle: vi.fn(), onActivity: vi.fn() };
  const hook = renderHook(() => useChat(null, callbacks));
  return { ...hook, callbacks };
}

afterEach(() => vi.unstubAllGlobals());

describe("useChat", () => {
  it("sends the attached files' ids, and only-files messages", async () => {
    const fetchMock = mockFetch(
      sse([
        ["start", { conversation_id: 7, user_message: { ...message(1, "user", ""), attachments: [{ id: 4, name: "a.pdf", mime_type: "application/pdf", size: 9 }] } }],
        ["done", { assistant_message: message(2, "assistant", "Read it") }],
      ]),
    );
    const { result } = renderChat();
    await act(async () => {
      await result.current.send("", [4]);
    });
    const body = JSON.parse(String(fetchMock.mock.calls[0]?.[1]?.body)) as Record<string, unknown>;
    expect(body).toEqual({ message: "", attachment_ids: [4] });
    expect(result.current.messages[0]?.attachments?.map((file) => file.name)).toEqual(["a.pdf"]);
  });

  it("sends no attachment_ids without files", async () => {
    const fetchMock = mockFetch(sse([["start", { conversation_id: 7, user_message: message(1, "user", "Hi") }]]));
    const { result } = renderChat();
    await act(async () => {
      await result.current.send("Hi");
    });
    expect(JSON.parse(String(fetchMock.mock.calls[0]?.[1]?.body))).toEqual({ message: "Hi" });
  });

  it("streams tokens into the reply, then keeps the saved messages and the new title", async () => {
    mockFetch(
      sse([
        ["start", { conversation_id: 7, user_message: message(1, "user", "Hi") }],
        ["token", { text: "Hel" }],
        ["token", { text: "lo" }],
        ["done", { assistant_message: message(2, "assistant", "Hello") }],
        ["title", { conversation_id: 7, title: "Greeting" }],
      ]),
    );
    const { result, callbacks } = renderChat();
    let accepted = false;
    await act(async () => {
      accepted = await result.current.send("Hi");
    });
    expect(accepted).toBe(true);
    expect(result.current.messages).toEqual([message(1, "user", "Hi"), message(2, "assistant", "Hello")]);
    expect(result.current.streaming).toBe(false);
    expect(callbacks.onConversationStarted).toHaveBeenCalledWith(7);
    expect(callbacks.onTitle).toHaveBeenCalledWith(7, "Greeting");
  });

  it("keeps the user's message and offers a retry when the model fails", async () => {
    mockFetch(
      sse([
        ["start", { conversation_id: 7, user_message: message(1, "user", "Hi [[fail]]") }],
        ["error", { code: "model_error", message: "failed", assistant_message: null }],
      ]),
    );
    const { result } = renderChat();
    await act(async () => {
      await result.current.send("Hi [[fail]]");
    });
    expect(result.current.messages).toEqual([message(1, "user", "Hi [[fail]]")]);
    expect(result.current.error).toEqual({ key: "model_error", retry: { type: "regenerate" } });
  });

  it("keeps a partial reply saved as incomplete when the model fails mid-stream", async () => {
    mockFetch(
      sse([
        ["start", { conversation_id: 7, user_message: message(1, "user", "Hi") }],
        ["token", { text: "Half" }],
        ["error", { code: "timeout", message: "slow", assistant_message: message(2, "assistant", "Half", { status: "incomplete" }) }],
      ]),
    );
    const { result } = renderChat();
    await act(async () => {
      await result.current.send("Hi");
    });
    expect(result.current.messages[1]).toEqual(message(2, "assistant", "Half", { status: "incomplete" }));
    expect(result.current.error?.key).toBe("timeout");
  });

  it("rolls back and reports a refused message so the text can go back to the composer", async () => {
    mockFetch("", { status: 429 });
    const { result } = renderChat();
    let accepted = true;
    await act(async () => {
      accepted = await result.current.send("Too fast");
    });
    expect(accepted).toBe(false);
    expect(result.current.messages).toEqual([]);
    expect(result.current.error).toEqual({ key: "rate_limited", retry: { type: "send", text: "Too fast" } });
  });

  it("Stop asks the server to stop, and keeps what arrived, marked incomplete", async () => {
    const stoppedReply = message(2, "assistant", "Partial", { status: "incomplete" });
    const fetchMock = mockFetch(
      sse([
        ["start", { conversation_id: 7, user_message: message(1, "user", "Long one") }],
        ["token", { text: "Partial" }],
      ]),
      { keepOpen: true, stoppedReply },
    );
    const { result } = renderChat();
    let sending: Promise<boolean> = Promise.resolve(false);
    act(() => {
      sending = result.current.send("Long one");
    });
    await waitFor(() => expect(result.current.messages[1]?.content).toBe("Partial"));
    expect(result.current.streaming).toBe(true);
    await act(async () => {
      result.current.stop();
      await sending;
    });
    expect(result.current.streaming).toBe(false);
    expect(result.current.error).toBeNull();
    expect(result.current.messages[1]).toEqual(stoppedReply);
    expect(fetchMock.mock.calls.map(([url, init]) => [init?.method ?? "GET", url])).toContainEqual([
      "POST",
      "/api/conversations/7/stop",
    ]);
  });

  it("a connection lost mid-reply follows the reply again, without sending the message twice", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let follows = 0;
    const posted: string[] = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string, init?: RequestInit) => {
        if (init?.method === "POST") {
          posted.push(url);
          // The network drops after the first tokens.
          return new Response(
            sse([
              ["start", { conversation_id: 7, user_message: message(1, "user", "Long one") }],
              ["token", { text: "Hel" }],
            ]),
          );
        }
        follows += 1;
        if (follows === 1) throw new TypeError("Failed to fetch"); // still offline at the first retry
        return new Response(
          sse([
            ["sync", { assistant_message_id: null, text_so_far: "Hello wor" }],
            ["token", { text: "ld" }],
            ["done", { assistant_message: message(2, "assistant", "Hello world") }],
          ]),
        );
      }),
    );
    const { result } = renderChat();
    let sending: Promise<boolean> = Promise.resolve(false);
    act(() => {
      sending = result.current.send("Long one");
    });
    await act(async () => {
      await vi.advanceTimersByTimeAsync(2000);
      await sending;
    });
    vi.useRealTimers();
    expect(posted).toEqual(["/api/chat/stream"]);
    expect(follows).toBe(2);
    expect(result.current.messages).toEqual([message(1, "user", "Long one"), message(2, "assistant", "Hello world")]);
    expect(result.current.error).toBeNull();
    expect(result.current.streaming).toBe(false);
  });
});

describe("useChat, a reply generating when the conversation opens", () => {
  it("shows the text so far at once, then streams the rest into it", async () => {
    let finish: (() => void) | null = null;
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) => {
        if (url.includes("/messages")) return json({ items: [message(1, "user", "Long one")], has_more: false });
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(sse([["sync", { assistant_message_id: null, text_so_far: "So far" }]])));
            finish = () => {
              controller.enqueue(
                new TextEncoder().encode(
                  sse([
                    ["token", { text: ", and more" }],
                    ["done", { assistant_message: message(2, "assistant", "So far, and more") }],
                  ]),
                ),
              );
              controller.close();
            };
          },
        });
        return new Response(stream);
      }),
    );
    const callbacks = { onConversationStarted: vi.fn(), onTitle: vi.fn(), onActivity: vi.fn() };
    const { result } = renderHook(() => useChat(7, callbacks));
    await waitFor(() => expect(result.current.messages[1]).toMatchObject({ id: PENDING_ASSISTANT_ID, content: "So far" }));
    expect(result.current.streaming).toBe(true);
    await act(async () => finish?.());
    await waitFor(() => expect(result.current.streaming).toBe(false));
    expect(result.current.messages).toEqual([message(1, "user", "Long one"), message(2, "assistant", "So far, and more")]);
  });
});

describe("useChat token frames", () => {
  it("applies the tokens that arrive between two frames in one update", async () => {
    const frames: FrameRequestCallback[] = [];
    vi.stubGlobal("requestAnimationFrame", (callback: FrameRequestCallback) => frames.push(callback));
    vi.stubGlobal("cancelAnimationFrame", () => undefined);
    mockFetch(
      sse([
        ["start", { conversation_id: 7, user_message: message(1, "user", "Hi") }],
        ["token", { text: "a" }],
        ["token", { text: "b" }],
        ["token", { text: "c" }],
      ]),
      { keepOpen: true },
    );
    const { result } = renderChat();
    act(() => {
      void result.current.send("Hi");
    });
    await waitFor(() => expect(frames).toHaveLength(1));
    expect(result.current.messages[1]).toMatchObject({ id: PENDING_ASSISTANT_ID, content: "" });
    act(() => frames[0]?.(performance.now()));
    expect(result.current.messages[1]).toMatchObject({ id: PENDING_ASSISTANT_ID, content: "abc" });
    expect(frames).toHaveLength(1);
    await act(async () => result.current.stop());
    await waitFor(() => expect(result.current.streaming).toBe(false));
  });
});

describe("useChat loadOlder", () => {
  function pageResponse(items: Message[], hasMore: boolean) {
    return new Response(JSON.stringify({ items, has_more: hasMore }), { headers: { "Content-Type": "application/json" } });
  }

  it("asks once while a load is running and prepends the page", async () => {
    let answerOlder: (response: Response) => void = () => undefined;
    const fetchMock = vi.fn(async (url: string) =>
      url.includes("before_id=")
        ? new Promise<Response>((resolve) => (answerOlder = resolve))
        : pageResponse([message(5, "user", "Latest question"), message(6, "assistant", "Latest answer")], true),
    );
    vi.stubGlobal("fetch", fetchMock);
    const callbacks = { onConversationStarted: vi.fn(), onTitle: vi.fn(), onActivity: vi.fn() };
    const { result } = renderHook(() => useChat(7, callbacks));
    await waitFor(() => expect(result.current.messages).toHaveLength(2));

    let first: Promise<void> = Promise.resolve();
    act(() => {
      first = result.current.loadOlder();
      void result.current.loadOlder();
    });
    expect(result.current.loadingOlder).toBe(true);
    expect(fetchMock.mock.calls.filter(([url]) => url.includes("before_id=5"))).toHaveLength(1);
    await act(async () => {
      answerOlder(pageResponse([message(3, "user", "Older"), message(4, "assistant", "Older answer")], false));
      await first;
    });
    expect(result.current.messages.map((item) => item.id)).toEqual([3, 4, 5, 6]);
    expect(result.current).toMatchObject({ hasMore: false, loadingOlder: false, loadOlderFailed: false });
  });

  it("reports a failed load and lets it be tried again", async () => {
    let older = 0;
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) => {
        if (!url.includes("before_id=")) return pageResponse([message(5, "user", "Latest question")], true);
        older += 1;
        if (older === 1) throw new TypeError("Failed to fetch");
        return pageResponse([message(4, "assistant", "Older answer")], false);
      }),
    );
    const callbacks = { onConversationStarted: vi.fn(), onTitle: vi.fn(), onActivity: vi.fn() };
    const { result } = renderHook(() => useChat(7, callbacks));
    await waitFor(() => expect(result.current.messages).toHaveLength(1));
    await act(async () => result.current.loadOlder());
    expect(result.current).toMatchObject({ loadingOlder: false, loadOlderFailed: true });
    await act(async () => result.current.loadOlder());
    expect(result.current.loadOlderFailed).toBe(false);
    expect(result.current.messages.map((item) => item.id)).toEqual([4, 5]);
  });
});

describe("useChat, conversation trees", () => {
  // 1 -> 2 -> 3 -> 4 on screen; 5 is another version of question 3, answered by 6.
  const path = [
    message(1, "user", "First"),
    message(2, "assistant", "First answer"),
    message(3, "user", "Second", { siblings: [3, 5] }),
    message(4, "assistant", "Second answer"),
  ];
  const otherBranch = [
    message(5, "user", "Second, edited", { parent: 2, siblings: [3, 5] }),
    message(6, "assistant", "Edited answer", { parent: 5 }),
  ];

  /** The backend: the path above, PUT active answered by `answerSwitch`, streams that answer at once. */
  function mockTreeBackend(answerSwitch: (messageId: number) => Promise<Response>) {
    const requests: { method: string; url: string; body: unknown }[] = [];
    const fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
      const body = typeof init?.body === "string" ? (JSON.parse(init.body) as Record<string, unknown>) : undefined;
      requests.push({ method: init?.method ?? "GET", url, body });
      if (url.endsWith("/active")) return answerSwitch(Number(body?.message_id));
      if (requests.at(-1)?.method === "GET" && url.endsWith("/stream")) return new Response(null, { status: 204 });
      if (url.includes("/messages")) return json({ items: path, has_more: false });
      const events = sse([
        ["start", { conversation_id: 7, user_message: message(9, "user", String(body?.message)) }],
        ["done", { assistant_message: message(10, "assistant", "Reply") }],
      ]);
      return new Response(events, { headers: { "Content-Type": "text/event-stream" } });
    });
    vi.stubGlobal("fetch", fetchMock);
    const callbacks = { onConversationStarted: vi.fn(), onTitle: vi.fn(), onActivity: vi.fn() };
    const hook = renderHook(() => useChat(7, callbacks));
    return { ...hook, requests };
  }

  it("sends an edit under the edited question's parent, and a new message under the reply on screen", async () => {
    const { result, requests } = mockTreeBackend(async () => json({ items: path, has_more: false }));
    await waitFor(() => expect(result.current.messages).toHaveLength(4));
    await act(async () => void (await result.current.edit(3, "Second, again")));
    expect(requests.at(-1)).toMatchObject({
      url: "/api/chat/stream",
      body: { conversation_id: 7, message: "Second, again", parent_id: 2 },
    });
    expect(result.current.messages.map((item) => item.id)).toEqual([1, 2, 9, 10]);
    await act(async () => void (await result.current.edit(1, "First, again")));
    expect(requests.at(-1)?.body).toEqual({ conversation_id: 7, message: "First, again", parent_id: null });
    await act(async () => void (await result.current.send("More")));
    expect(requests.at(-1)?.body).toEqual({ conversation_id: 7, message: "More", parent_id: 10 });
    await act(async () => void (await result.current.regenerate(10)));
    expect(requests.at(-1)).toMatchObject({ url: "/api/conversations/7/regenerate", body: { message_id: 10 } });
  });

  it("names no parent when the path on screen ends with a question (its reply failed or is not saved)", async () => {
    // The server answers a question named as the parent with 422: a question is never a parent.
    const unanswered = [message(1, "user", "First"), message(2, "assistant", "First answer"), message(3, "user", "Lost")];
    const fetchMock = mockFetch(
      sse([
        ["start", { conversation_id: 7, user_message: message(4, "user", "Again") }],
        ["done", { assistant_message: message(5, "assistant", "Reply") }],
      ]),
      { saved: unanswered },
    );
    const callbacks = { onConversationStarted: vi.fn(), onTitle: vi.fn(), onActivity: vi.fn() };
    const { result } = renderHook(() => useChat(7, callbacks));
    await waitFor(() => expect(result.current.messages).toHaveLength(3));
    await act(async () => void (await result.current.send("Again")));
    const posted = fetchMock.mock.calls.filter(([url]) => url === "/api/chat/stream");
    expect(posted).toHaveLength(1);
    expect(JSON.parse(String(posted[0]?.[1]?.body))).toEqual({ conversation_id: 7, message: "Again" });
  });

  it("switches branches one request at a time, showing a branch seen before at once", async () => {
    const pending: { messageId: number; answer: (response: Response) => void }[] = [];
    const { result, requests } = mockTreeBackend(
      (messageId) => new Promise<Response>((answer) => pending.push({ messageId, answer })),
    );
    await waitFor(() => expect(result.current.messages).toHaveLength(4));

    let switched: Promise<void> = Promise.resolve();
    act(() => void (switched = result.current.switchBranch(3, 5)));
    // Never seen: the screen waits for the server's path.
    expect(result.current.messages.map((item) => item.id)).toEqual([1, 2, 3, 4]);
    await waitFor(() => expect(pending).toHaveLength(1));
    expect(pending[0]?.messageId).toBe(5);
    await act(async () => {
      pending[0]?.answer(json({ items: [...path.slice(0, 2), ...otherBranch], has_more: false }));
      await switched;
    });
    expect(result.current.messages.map((item) => item.id)).toEqual([1, 2, 5, 6]);

    // Back to 3, seen before: shown at once, and asked for by its leaf (4) so the same branch comes back.
    act(() => void (switched = result.current.switchBranch(5, 3)));
    expect(result.current.messages.map((item) => item.id)).toEqual([1, 2, 3, 4]);
    // A second switch before the first is answered waits for it, and only its answer is shown.
    act(() => void result.current.switchBranch(3, 5));
    expect(result.current.messages.map((item) => item.id)).toEqual([1, 2, 5, 6]);
    await waitFor(() => expect(pending).toHaveLength(2));
    expect(pending[1]?.messageId).toBe(4);
    await act(async () => {
      pending[1]?.answer(json({ items: path, has_more: false }));
      await switched;
    });
    expect(result.current.messages.map((item) => item.id)).toEqual([1, 2, 5, 6]);
    await waitFor(() => expect(pending).toHaveLength(3));
    expect(pending[2]?.messageId).toBe(6);
    expect(requests.filter((request) => request.method === "PUT")).toHaveLength(3);
  });
});
