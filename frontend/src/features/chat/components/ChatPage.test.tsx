import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AuthContext, type AuthState } from "../../auth/auth-context";
import { message } from "../test-messages";
import { ChatPage } from "./ChatPage";

// Counts how often each message's Markdown renders (by its text).
const renders = vi.hoisted(() => [] as string[]);
vi.mock("./Markdown", () => ({
  default: ({ text }: { text: string }) => {
    renders.push(text);
    return <div className="markdown">{text}</div>;
  },
}));


const SIGNED_IN = {
  status: "signed-in",
  user: { id: 1, email: "ana@example.com", is_admin: false, is_active: true, created_at: "2026-11-27T10:00:00Z" },
  notice: null,
} as unknown as AuthState;

const HISTORY = [
  message(1, "user", "First question"),
  message(2, "assistant", "First answer"),
  message(3, "user", "Second question"),
  message(4, "assistant", "Second answer"),
];

function event(name: string, data: unknown): Uint8Array {
  return new TextEncoder().encode(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** The backend: the conversation and its messages, and a stream the test writes into. */
function mockBackend() {
  let stream: ReadableStreamDefaultController<Uint8Array> | null = null;
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string) => {
      const json = (body: unknown) => new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } });
      if (url.includes("/messages")) return json({ items: HISTORY, has_more: false });
      if (url.endsWith("/api/models") || url.endsWith("/api/presets")) return json([]);
      if (url.endsWith("/api/chat/stream")) {
        return new Response(new ReadableStream<Uint8Array>({ start: (controller) => void (stream = controller) }), {
          headers: { "Content-Type": "text/event-stream" },
        });
      }
      if (url.includes("/api/conversations/7")) {
        return json({ id: 7, title: "Chat", created_at: HISTORY[0]?.created_at, updated_at: HISTORY[0]?.created_at });
      }
      return json({ items: [], total: 0 });
    }),
  );
  return { send: (name: string, data: unknown) => stream?.enqueue(event(name, data)), end: () => stream?.close() };
}

afterEach(() => {
  vi.unstubAllGlobals();
  renders.length = 0;
});

describe("ChatPage while a reply streams", () => {
  it("renders only the streaming message again, once per update", async () => {
    const frames: FrameRequestCallback[] = [];
    vi.stubGlobal("requestAnimationFrame", (callback: FrameRequestCallback) => frames.push(callback));
    vi.stubGlobal("cancelAnimationFrame", () => undefined);
    // Updates come at most every 50 ms: wait for the next frame to be asked for, then run it.
    const runFrames = async () => {
      await waitFor(() => expect(frames.length).toBeGreaterThan(0));
      act(() => frames.splice(0).forEach((frame) => frame(performance.now())));
    };
    const backend = mockBackend();
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <AuthContext.Provider value={SIGNED_IN}>
          <MemoryRouter>
            <ChatPage conversationId={7} />
          </MemoryRouter>
        </AuthContext.Provider>
      </QueryClientProvider>,
    );
    // The Markdown view loads lazily: wait for it, so what follows counts only renders the stream caused.
    expect(await screen.findByText("Second answer", { selector: ".markdown" })).toBeInTheDocument();
    renders.length = 0;

    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "Third question{Enter}");
    await act(async () => backend.send("start", { conversation_id: 7, user_message: message(5, "user", "Third question") }));
    await act(async () => backend.send("token", { text: "Thi" }));
    await runFrames();
    await screen.findByText("Thi");
    // A stream starting renders no saved message again (their actions hide through CSS, not props).
    expect(renders.filter((text) => text !== "Thi")).toEqual([]);
    renders.length = 0;

    await act(async () => {
      backend.send("token", { text: "rd" });
      backend.send("token", { text: " ans" });
    });
    await runFrames();
    await act(async () => backend.send("token", { text: "wer" }));
    await runFrames();
    await screen.findByText("Third answer");
    // Two updates, two renders of the streaming reply, none of the two answers above it.
    expect(renders).toEqual(["Third ans", "Third answer"]);

    await act(async () => {
      backend.send("done", { assistant_message: message(6, "assistant", "Third answer") });
      backend.end();
    });
    await waitFor(() => expect(screen.getByRole("button", { name: "Send" })).toBeInTheDocument());
    // Nor does it ending: only the saved reply (a new object) renders again.
    expect(renders.slice(2).filter((text) => text !== "Third answer")).toEqual([]);
  });
});
