import type { ChatError } from "./chat-errors";
import type { Message, MessagePage } from "./types";

/** Local stand-ins until the server answers with real ids. */
export const PENDING_USER_ID = -1;
export const PENDING_ASSISTANT_ID = -2;

/**
 * The messages of one conversation and the reply streaming into it. Every change keeps the
 * messages it does not touch (the same objects), so memoised message views skip them.
 */
export interface ChatState {
  messages: Message[];
  hasMore: boolean;
  loading: boolean;
  loadFailed: boolean;
  loadingOlder: boolean;
  loadOlderFailed: boolean;
  streaming: boolean;
  error: ChatError | null;
  /** The messages from before the exchange now streaming: put back when the server refuses it. */
  rollback: Message[] | null;
  /** Counts the exchanges sent from this page: a pending message's view key. */
  exchange: number;
  /** The view key a saved message keeps from when it was pending, so its view is not built again. */
  keys: Record<number, string>;
}

export type ChatAction =
  | { type: "opened"; loading: boolean }
  | { type: "loaded"; page: MessagePage }
  | { type: "loadFailed" }
  | { type: "olderRequested" }
  | { type: "olderLoaded"; page: MessagePage }
  | { type: "olderFailed" }
  | { type: "sent"; text: string; conversationId: number; now: string }
  | { type: "regenerating"; message?: string; conversationId: number; now: string }
  | { type: "accepted"; userMessage: Message }
  | { type: "tokens"; text: string }
  | { type: "replySaved"; message: Message }
  | { type: "replyFailed"; message: Message | null; error: ChatError }
  | { type: "interrupted"; error: ChatError | null }
  | { type: "refused"; error: ChatError | null }
  | { type: "streamEnded" }
  | { type: "errorDismissed" };

export const EMPTY_CHAT: ChatState = {
  messages: [],
  hasMore: false,
  loading: false,
  loadFailed: false,
  loadingOlder: false,
  loadOlderFailed: false,
  streaming: false,
  error: null,
  rollback: null,
  exchange: 0,
  keys: {},
};

/** A stable React key: a streamed message keeps the one it had while pending when its real id arrives. */
export function messageKey(state: Pick<ChatState, "exchange" | "keys">, message: Message): string {
  if (message.id < 0) return `${message.role}-${state.exchange}`;
  return state.keys[message.id] ?? String(message.id);
}

function withKey(state: ChatState, message: Message | null): Record<number, string> {
  if (!message) return state.keys;
  return { ...state.keys, [message.id]: `${message.role}-${state.exchange}` };
}

function pendingMessage(id: number, role: Message["role"], content: string, conversationId: number, now: string): Message {
  return { id, conversation_id: conversationId, role, content, status: "complete", created_at: now };
}

/** `messages` with the one whose id is `id` replaced by `update(it)` (or dropped for null); the rest untouched. */
function updateMessage(messages: Message[], id: number, update: (message: Message) => Message | null): Message[] {
  const index = messages.findLastIndex((message) => message.id === id);
  const current = messages[index];
  if (!current) return messages;
  const next = update(current);
  if (next === current) return messages;
  return next === null
    ? [...messages.slice(0, index), ...messages.slice(index + 1)]
    : [...messages.slice(0, index), next, ...messages.slice(index + 1)];
}

/** A reply cut short keeps what arrived, marked incomplete; one that never started goes. */
function markPendingIncomplete(messages: Message[]): Message[] {
  return updateMessage(messages, PENDING_ASSISTANT_ID, (message) =>
    message.content === "" ? null : { ...message, status: "incomplete" },
  );
}

export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case "opened":
      return { ...EMPTY_CHAT, loading: action.loading };
    case "loaded":
      return { ...state, messages: action.page.items, hasMore: action.page.has_more, loading: false };
    case "loadFailed":
      return { ...state, loading: false, loadFailed: true };
    case "olderRequested":
      return { ...state, loadingOlder: true, loadOlderFailed: false };
    case "olderLoaded":
      return {
        ...state,
        messages: [...action.page.items, ...state.messages],
        hasMore: action.page.has_more,
        loadingOlder: false,
      };
    case "olderFailed":
      return { ...state, loadingOlder: false, loadOlderFailed: true };
    case "sent":
      return {
        ...state,
        exchange: state.exchange + 1,
        streaming: true,
        error: null,
        rollback: state.messages,
        messages: [
          ...state.messages,
          pendingMessage(PENDING_USER_ID, "user", action.text, action.conversationId, action.now),
          pendingMessage(PENDING_ASSISTANT_ID, "assistant", "", action.conversationId, action.now),
        ],
      };
    case "regenerating": {
      const last = state.messages[state.messages.length - 1];
      const messages = last?.role === "assistant" ? state.messages.slice(0, -1) : [...state.messages];
      const index = messages.findLastIndex((message) => message.role === "user");
      const lastUser = messages[index];
      if (action.message !== undefined && lastUser) messages[index] = { ...lastUser, content: action.message };
      return {
        ...state,
        exchange: state.exchange + 1,
        streaming: true,
        error: null,
        rollback: state.messages,
        messages: [...messages, pendingMessage(PENDING_ASSISTANT_ID, "assistant", "", action.conversationId, action.now)],
      };
    }
    case "accepted": {
      const index = state.messages.findLastIndex((message) => message.role === "user");
      if (index === -1) return state;
      const messages = [...state.messages];
      messages[index] = action.userMessage;
      return { ...state, messages, rollback: null, keys: withKey(state, action.userMessage) };
    }
    case "tokens":
      if (action.text === "") return state;
      return {
        ...state,
        messages: updateMessage(state.messages, PENDING_ASSISTANT_ID, (message) => ({
          ...message,
          content: message.content + action.text,
        })),
      };
    case "replySaved":
      return {
        ...state,
        messages: updateMessage(state.messages, PENDING_ASSISTANT_ID, () => action.message),
        keys: withKey(state, action.message),
      };
    case "replyFailed":
      return {
        ...state,
        messages: updateMessage(state.messages, PENDING_ASSISTANT_ID, () => action.message),
        keys: withKey(state, action.message),
        error: action.error,
      };
    case "interrupted":
      return { ...state, messages: markPendingIncomplete(state.messages), error: action.error ?? state.error };
    case "refused":
      return { ...state, messages: state.rollback ?? state.messages, rollback: null, error: action.error };
    case "streamEnded":
      return { ...state, streaming: false, rollback: null };
    case "errorDismissed":
      return { ...state, error: null };
  }
}
