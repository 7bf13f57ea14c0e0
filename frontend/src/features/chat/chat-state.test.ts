import { describe, expect, it } from "vitest";
import { chatReducer, EMPTY_CHAT, messageKey, PENDING_ASSISTANT_ID, PENDING_USER_ID, type ChatAction, type ChatState } from "./chat-state";
import { message } from "./test-messages";

const NOW = "2026-11-27T10:00:00Z";

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

  it("regenerates the last reply as a new version, and puts it back when refused", () => {
    const state = run(loaded, { type: "regenerating", conversationId: 7, now: NOW });
    expect(state.messages.map((item) => item.id)).toEqual([1, PENDING_ASSISTANT_ID]);
    expect(state.messages[1]).toMatchObject({ parent_id: 1, siblings: { ids: [2, PENDING_ASSISTANT_ID], index: 1 } });
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
      { type: "replyFailed", message: message(4, "assistant", "Hal", { status: "incomplete" }), error },
    );
    expect(failed.messages[3]).toEqual(message(4, "assistant", "Hal", { status: "incomplete" }));
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

describe("chatReducer, conversation trees", () => {
  // 1 -> 2 -> 3 -> 4: two exchanges on the active path.
  const path = [
    message(1, "user", "First"),
    message(2, "assistant", "First answer"),
    message(3, "user", "Second"),
    message(4, "assistant", "Second answer"),
  ];
  const open = run(EMPTY_CHAT, { type: "loaded", page: { items: path, has_more: false } });

  it("regenerates an old reply: the path below it goes, the new reply joins its versions", () => {
    const state = run(open, { type: "regenerating", messageId: 2, conversationId: 7, now: NOW });
    expect(state.messages.map((item) => item.id)).toEqual([1, PENDING_ASSISTANT_ID]);
    expect(state.messages[0]).toBe(path[0]);
    expect(state.messages[1]).toMatchObject({ parent_id: 1, siblings: { ids: [2, PENDING_ASSISTANT_ID], index: 1 } });
    const saved = run(
      state,
      { type: "accepted", userMessage: message(1, "user", "First") },
      { type: "tokens", text: "Again" },
      { type: "replySaved", message: message(5, "assistant", "Again", { parent: 1, siblings: [2, 5] }) },
      { type: "streamEnded" },
    );
    // The question did not change: its view keeps the same object.
    expect(saved.messages[0]).toBe(path[0]);
    expect(saved.messages[1]).toEqual(message(5, "assistant", "Again", { parent: 1, siblings: [2, 5] }));
    expect(saved.tails[2]).toEqual(path.slice(1));
  });

  it("edits a middle question as a new version under the same parent", () => {
    const state = run(open, { type: "sent", text: "Second, better", conversationId: 7, now: NOW, editOf: 3 });
    expect(state.messages.map((item) => item.id)).toEqual([1, 2, PENDING_USER_ID, PENDING_ASSISTANT_ID]);
    expect(state.messages[2]).toMatchObject({
      content: "Second, better",
      parent_id: 2,
      siblings: { ids: [3, PENDING_USER_ID], index: 1 },
    });
    const edited = message(5, "user", "Second, better", { parent: 2, siblings: [3, 5] });
    const saved = run(
      state,
      { type: "accepted", userMessage: edited },
      { type: "replySaved", message: message(6, "assistant", "Better answer") },
      { type: "streamEnded" },
    );
    expect(saved.messages).toEqual([path[0], path[1], edited, message(6, "assistant", "Better answer")]);
    expect(run(state, { type: "refused", error: null }).messages).toBe(path);
  });

  it("edits the first question as a new first message, and the last one keeping the path above", () => {
    const first = run(open, { type: "sent", text: "Other start", conversationId: 7, now: NOW, editOf: 1 });
    expect(first.messages.map((item) => item.id)).toEqual([PENDING_USER_ID, PENDING_ASSISTANT_ID]);
    expect(first.messages[0]).toMatchObject({ parent_id: null, siblings: { ids: [1, PENDING_USER_ID], index: 1 } });
    const last = run(open, { type: "sent", text: "Other end", conversationId: 7, now: NOW, editOf: 3 });
    expect(last.messages.slice(0, 2)).toEqual(path.slice(0, 2));
  });

  it("a new message follows the path on screen", () => {
    const state = run(open, { type: "sent", text: "Third", conversationId: 7, now: NOW });
    expect(state.messages[4]).toMatchObject({ parent_id: 4, siblings: { ids: [PENDING_USER_ID], index: 0 } });
  });

  // 2 -> 3 (Second) and 2 -> 5 (Second, edited) -> 6; the edited branch is on screen.
  const editedPath = [
    path[0]!,
    path[1]!,
    message(5, "user", "Second, edited", { parent: 2, siblings: [3, 5] }),
    message(6, "assistant", "Edited answer"),
  ];
  const branched = run(
    open,
    { type: "sent", text: "Second, edited", conversationId: 7, now: NOW, editOf: 3 },
    { type: "accepted", userMessage: editedPath[2]! },
    { type: "replySaved", message: editedPath[3]! },
    { type: "streamEnded" },
  );
  const original = path.map((item) => (item.id === 3 ? { ...item, siblings: { ids: [3, 5], index: 0 } } : item));

  it("switches back to a branch seen before at once, then keeps it when the server confirms it", () => {
    const switched = run(branched, { type: "switched", from: 5, to: 3 });
    expect(switched.messages.map((item) => item.id)).toEqual([1, 2, 3, 4]);
    expect(switched.messages[2]).toBe(path[2]);
    expect(switched.tails[5]).toEqual(editedPath.slice(2));
    const confirmed = run(switched, { type: "pathLoaded", page: { items: original, has_more: false } });
    // The server says 3 has a sibling now: that message changes, the others keep their objects.
    expect(confirmed.messages).toEqual(original);
    expect(confirmed.messages[0]).toBe(path[0]);
    expect(confirmed.messages[3]).toBe(path[3]);
    // And forward again to the edited branch, remembered under 5.
    const forward = run(confirmed, { type: "switched", from: 3, to: 5 });
    expect(forward.messages.map((item) => item.id)).toEqual([1, 2, 5, 6]);
  });

  it("switches to a branch never seen when the server sends it, keeping the path above", () => {
    const switched = run(open, { type: "switched", from: 3, to: 9 });
    expect(switched.messages).toBe(open.messages);
    const tail = [message(9, "user", "Other", { parent: 2, siblings: [3, 9] }), message(10, "assistant", "Other answer")];
    // The server's last page starts below the first message (a long path): the rest stays on screen.
    const shown = run(
      { ...switched, hasMore: true },
      { type: "pathLoaded", page: { items: [path[1]!, ...tail], has_more: true } },
    );
    expect(shown.messages).toEqual([path[0], path[1], ...tail]);
    expect(shown.messages[1]).toBe(path[1]);
    expect(shown.hasMore).toBe(true);
    // A page that shares nothing with the screen replaces it all.
    const fresh = run(open, { type: "pathLoaded", page: { items: tail, has_more: true } });
    expect(fresh).toMatchObject({ messages: tail, hasMore: true });
  });

  it("does not switch or replace the path while a reply streams", () => {
    const streaming = run(branched, { type: "sent", text: "More", conversationId: 7, now: NOW });
    expect(run(streaming, { type: "switched", from: 5, to: 3 })).toBe(streaming);
    expect(run(streaming, { type: "pathLoaded", page: { items: original, has_more: false } })).toBe(streaming);
  });
});

describe("chatReducer reasoning", () => {
  it("gathers thoughts on the pending reply, apart from its text", () => {
    let state = chatReducer(EMPTY_CHAT, { type: "sent", text: "Oi", conversationId: 7, now: "2026-11-27T10:00:00Z" });
    state = chatReducer(state, { type: "reasoning", text: "Pensando. " });
    state = chatReducer(state, { type: "reasoning", text: "Mais." });
    state = chatReducer(state, { type: "tokens", text: "Olá!" });
    const reply = state.messages[state.messages.length - 1];
    expect(reply?.reasoning).toBe("Pensando. Mais.");
    expect(reply?.content).toBe("Olá!");
  });

  it("keeps a reply cut short while it was still thinking", () => {
    let state = chatReducer(EMPTY_CHAT, { type: "sent", text: "Oi", conversationId: 7, now: "2026-11-27T10:00:00Z" });
    state = chatReducer(state, { type: "reasoning", text: "Pensando." });
    state = chatReducer(state, { type: "interrupted", error: null });
    expect(state.messages[state.messages.length - 1]).toMatchObject({ status: "incomplete", reasoning: "Pensando." });
  });
});
