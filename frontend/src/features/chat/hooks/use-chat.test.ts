import { act, renderHook, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Message } from "../types";
import { PENDING_ASSISTANT_ID, useChat } from "./use-chat";

function message(id: number, role: Message["role"], content: string, status: Message["status"] = "complete"): Message {
  return { id, conversation_id: 7, role, content, status, created_at: "2026-11-27T10:00:00Z" };
}

function sse(events: [string, unknown][]): string {
  return events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`).join("");
}

/** A fetch that answers the stream route with `body`, left open when `keepOpen` (until aborted). */
function mockFetch(body: string, { keepOpen = false, status = 200 } = {}) {
  const fetchMock = vi.fn(async (_url: string, init?: RequestInit) => {
    if (status !== 200) return new Response(JSON.stringify({ detail: "nope" }), { status });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(body));
        if (!keepOpen) controller.close();
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
        ["error", { code: "timeout", message: "slow", assistant_message: message(2, "assistant", "Half", "incomplete") }],
      ]),
    );
    const { result } = renderChat();
    await act(async () => {
      await result.current.send("Hi");
    });
    expect(result.current.messages[1]).toEqual(message(2, "assistant", "Half", "incomplete"));
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

  it("Stop keeps what arrived, marked incomplete", async () => {
    mockFetch(
      sse([
        ["start", { conversation_id: 7, user_message: message(1, "user", "Long one") }],
        ["token", { text: "Partial" }],
      ]),
      { keepOpen: true },
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
    expect(result.current.messages[1]).toMatchObject({ id: PENDING_ASSISTANT_ID, content: "Partial", status: "incomplete" });
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
