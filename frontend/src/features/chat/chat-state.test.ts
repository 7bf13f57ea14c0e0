import { describe, expect, it } from "vitest";
import { chatReducer, EMPTY_CHAT, messageKey, PENDING_ASSISTANT_ID, PENDING_USER_ID, type ChatAction, type ChatState } from "./chat-state";
import type { Message } from "./types";

const NOW = "2026-11-27T10:00:00Z";

function message(id: number, role: Message["role"], content: string, status: Message["status"] = "complete"): Message {
  return { id, conversation_id: 7, role, content, status, created_at: NOW };
}

function run(state: ChatState, ...actions: ChatAction[]): ChatState {
  return actions.reduce(chatReducer, state);
}

const history = [message(1, "user", "Hi"), message(2, "assistant", "Hello")];
const loaded = run(EMPTY_CHAT, { type: "opened", loading: true }, { type: "loaded", page: { items: history, has_more: true } });

describe("chatReducer", () => {
  it("opens a conversation loading, then shows its latest page", () => {
    expect(chatReducer(EMPTY_CHAT, { type: "opened", loading: true }).loading).toBe(true);
    expect(loaded).toMatchObject({ messages: history, hasMore: true, loading: false });
    expect(run(loaded, { type: "loadFailed" })).toMatchObject({ loadFailed: true, loading: false });
  });

  it("appends tokens to the pending reply only, keeping every other message the same object", () => {
    const sending = run(loaded, { type: "sent", text: "More", conversationId: 7, now: NOW });
    expect(sending.messages.map((item) => item.id)).toEqual([1, 2, PENDING_USER_ID, PENDING_ASSISTANT_ID]);
    const streamed = run(sending, { type: "tokens", text: "Hel" }, { type: "tokens", text: "lo!" });
    expect(streamed.messages[3]?.content).toBe("Hello!");
    expect(streamed.messages.slice(0, 3).every((item, index) => item === sending.messages[index])).toBe(true);
    expect(run(streamed, { type: "tokens", text: "" })).toBe(streamed);
  });

  it("swaps in the saved messages when the server accepts and answers", () => {
    const saved = run(
      loaded,
      { type: "sent", text: "More", conversationId: 7, now: NOW },
      { type: "accepted", userMessage: message(3, "user", "More") },
      { type: "tokens", text: "Sure" },
      { type: "replySaved", message: message(4, "assistant", "Sure") },
      { type: "streamEnded" },
    );
    expect(saved.messages).toEqual([...history, message(3, "user", "More"), message(4, "assistant", "Sure")]);
    expect(saved).toMatchObject({ streaming: false, rollback: null, error: null });
  });

  it("puts the messages back when the server refuses the message", () => {
    const error = { key: "rate_limited", retry: { type: "send", text: "More" } } as const;
    const refused = run(
      loaded,
      { type: "sent", text: "More", conversationId: 7, now: NOW },
      { type: "refused", error },
      { type: "streamEnded" },
    );
    expect(refused.messages).toBe(history);
    expect(refused.error).toEqual(error);
  });

  it("regenerates without the last reply, with the edited question when there is one", () => {
    const state = run(loaded, { type: "regenerating", message: "Hi again", conversationId: 7, now: NOW });
    expect(state.messages.map((item) => [item.id, item.content])).toEqual([
      [1, "Hi again"],
      [PENDING_ASSISTANT_ID, ""],
    ]);
    expect(state.rollback).toBe(history);
    expect(run(state, { type: "refused", error: null }).messages).toBe(history);
  });

  it("keeps a reply cut short as incomplete and drops one that never started", () => {
    const sending = run(loaded, { type: "sent", text: "More", conversationId: 7, now: NOW });
    const cut = run(sending, { type: "tokens", text: "Half" }, { type: "interrupted", error: null });
    expect(cut.messages[3]).toMatchObject({ id: PENDING_ASSISTANT_ID, content: "Half", status: "incomplete" });
    expect(run(sending, { type: "interrupted", error: null }).messages.map((item) => item.id)).toEqual([1, 2, PENDING_USER_ID]);
  });

  it("shows a model failure with the partial reply the server saved", () => {
    const error = { key: "timeout", retry: { type: "regenerate" } } as const;
    const failed = run(
      loaded,
      { type: "sent", text: "More", conversationId: 7, now: NOW },
      { type: "accepted", userMessage: message(3, "user", "More") },
      { type: "replyFailed", message: message(4, "assistant", "Hal", "incomplete"), error },
    );
    expect(failed.messages[3]).toEqual(message(4, "assistant", "Hal", "incomplete"));
    expect(failed.error).toEqual(error);
    expect(run(failed, { type: "errorDismissed" }).error).toBeNull();
  });

  it("prepends older messages and reports when they fail to load", () => {
    const asking = run(loaded, { type: "olderRequested" });
    expect(asking.loadingOlder).toBe(true);
    const older = [message(0, "user", "Earlier")];
    const done = run(asking, { type: "olderLoaded", page: { items: older, has_more: false } });
    expect(done.messages).toEqual([...older, ...history]);
    expect(done).toMatchObject({ hasMore: false, loadingOlder: false });
    const failed = run(asking, { type: "olderFailed" });
    expect(failed).toMatchObject({ loadingOlder: false, loadOlderFailed: true, messages: history });
    expect(run(failed, { type: "olderRequested" }).loadOlderFailed).toBe(false);
  });

  it("keeps a streamed message's view key when its saved id arrives, and gives the next exchange new ones", () => {
    const sending = run(loaded, { type: "sent", text: "More", conversationId: 7, now: NOW });
    const pendingKeys = sending.messages.map((item) => messageKey(sending, item));
    const saved = run(
      sending,
      { type: "accepted", userMessage: message(3, "user", "More") },
      { type: "replySaved", message: message(4, "assistant", "Sure") },
      { type: "streamEnded" },
    );
    expect(saved.messages.map((item) => messageKey(saved, item))).toEqual(pendingKeys);
    const next = run(saved, { type: "regenerating", conversationId: 7, now: NOW });
    const keys = next.messages.map((item) => messageKey(next, item));
    expect(new Set(keys).size).toBe(keys.length);
  });
});
