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
  /**
   * The branch last shown from a message down (that message first), by its id: switching back to
   * it is instant, and asks the server for exactly that branch.
   */
  tails: Record<number, Message[]>;
}

export type ChatAction =
  | { type: "opened"; loading: boolean }
  | { type: "loaded"; page: MessagePage }
  | { type: "loadFailed" }
  | { type: "olderRequested" }
  | { type: "olderLoaded"; page: MessagePage }
  | { type: "olderFailed" }
  /** `editOf`: the id of the user message this one is a new version of (the rest of the path goes). */
  | { type: "sent"; text: string; conversationId: number; now: string; editOf?: number }
  /** `messageId`: the assistant message answered again (absent: the last one, if the path ends with one). */
  | { type: "regenerating"; messageId?: number; conversationId: number; now: string }
  /** The person chose sibling `to` of message `from`: shows its remembered branch at once, if any. */
  | { type: "switched"; from: number; to: number }
  /** The server's page of the active path after a switch: replaces the path from where they differ. */
  | { type: "pathLoaded"; page: MessagePage }
  | { type: "accepted"; userMessage: Message }
  /** A reply already being generated (opened, reloaded, or after a lost connection): it streams in below. */
  | { type: "resumed"; conversationId: number; now: string }
  /** Everything the reply being followed has so far (it replaces what arrived before a reconnect). */
  | { type: "synced"; text: string; reasoning?: string | null }
  | { type: "tokens"; text: string }
  /** A piece of the model's thought summary for the reply streaming. */
  | { type: "reasoning"; text: string }
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
  tails: {},
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

interface PendingPlace {
  parentId: number | null;
  /** The ids of the versions it is added to (empty for a message with no other version). */
  siblingIds?: number[];
}

function pendingMessage(
  id: number,
  role: Message["role"],
  content: string,
  conversationId: number,
  now: string,
  { parentId, siblingIds = [] }: PendingPlace,
): Message {
  const ids = [...siblingIds, id];
  return {
    id,
    conversation_id: conversationId,
    parent_id: parentId,
    role,
    content,
    status: "complete",
    created_at: now,
    siblings: { ids, index: ids.length - 1 },
  };
}

function sameMessage(a: Message, b: Message): boolean {
  return (
    a.id === b.id &&
    a.content === b.content &&
    a.status === b.status &&
    a.parent_id === b.parent_id &&
    a.siblings.index === b.siblings.index &&
    a.siblings.ids.length === b.siblings.ids.length &&
    a.siblings.ids.every((id, index) => id === b.siblings.ids[index])
  );
}

/** `messages` from `index` down, remembered under that message's id (a saved one only). */
function withTail(tails: Record<number, Message[]>, messages: Message[], index: number): Record<number, Message[]> {
  const head = messages[index];
  if (!head || head.id < 0) return tails;
  return { ...tails, [head.id]: messages.slice(index) };
}

/**
 * The path shown once the server sent the last page of the new active path: what is on screen
 * before that page's first message stays, the page replaces the rest. Messages that did not
 * change keep their objects, so their views do not render again.
 */
function mergePath(state: ChatState, page: MessagePage): Pick<ChatState, "messages" | "hasMore"> {
  const shown = new Map(state.messages.map((message) => [message.id, message]));
  const items = page.items.map((message) => {
    const current = shown.get(message.id);
    return current && sameMessage(current, message) ? current : message;
  });
  const first = items[0];
  const start = first ? state.messages.findIndex((message) => message.id === first.id) : -1;
  if (start <= 0) return { messages: items, hasMore: page.has_more };
  return { messages: [...state.messages.slice(0, start), ...items], hasMore: state.hasMore };
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
    message.content === "" && !message.reasoning ? null : { ...message, status: "incomplete" },
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
    case "sent": {
      const index =
        action.editOf === undefined ? -1 : state.messages.findIndex((message) => message.id === action.editOf);
      const edited = state.messages[index];
      const kept = edited ? state.messages.slice(0, index) : state.messages;
      const place: PendingPlace = edited
        ? { parentId: edited.parent_id, siblingIds: edited.siblings.ids }
        : { parentId: state.messages[state.messages.length - 1]?.id ?? null };
      return {
        ...state,
        exchange: state.exchange + 1,
        streaming: true,
        error: null,
        rollback: state.messages,
        tails: edited ? withTail(state.tails, state.messages, index) : state.tails,
        messages: [
          ...kept,
          pendingMessage(PENDING_USER_ID, "user", action.text, action.conversationId, action.now, place),
          pendingMessage(PENDING_ASSISTANT_ID, "assistant", "", action.conversationId, action.now, {
            parentId: PENDING_USER_ID,
          }),
        ],
      };
    }
    case "regenerating": {
      const index =
        action.messageId === undefined
          ? state.messages.length - 1
          : state.messages.findIndex((message) => message.id === action.messageId);
      const answer = state.messages[index]?.role === "assistant" ? state.messages[index] : undefined;
      const place: PendingPlace = answer
        ? { parentId: answer.parent_id, siblingIds: answer.siblings.ids }
        : { parentId: state.messages[state.messages.length - 1]?.id ?? null };
      return {
        ...state,
        exchange: state.exchange + 1,
        streaming: true,
        error: null,
        rollback: state.messages,
        tails: answer ? withTail(state.tails, state.messages, index) : state.tails,
        messages: [
          ...(answer ? state.messages.slice(0, index) : state.messages),
          pendingMessage(PENDING_ASSISTANT_ID, "assistant", "", action.conversationId, action.now, place),
        ],
      };
    }
    case "switched": {
      const index = state.messages.findIndex((message) => message.id === action.from);
      if (index === -1 || state.streaming) return state;
      const tails = withTail(state.tails, state.messages, index);
      const remembered = state.tails[action.to];
      if (!remembered) return { ...state, tails };
      return { ...state, tails, messages: [...state.messages.slice(0, index), ...remembered] };
    }
    case "pathLoaded":
      // A reply started meanwhile: its path is the newer truth.
      if (state.streaming) return state;
      return { ...state, ...mergePath(state, action.page) };
    case "accepted": {
      const index = state.messages.findLastIndex((message) => message.role === "user");
      if (index === -1) return state;
      const messages = [...state.messages];
      const current = messages[index];
      messages[index] = current && sameMessage(current, action.userMessage) ? current : action.userMessage;
      return { ...state, messages, rollback: null, keys: withKey(state, action.userMessage) };
    }
    case "resumed": {
      if (state.messages.some((message) => message.id === PENDING_ASSISTANT_ID)) return { ...state, streaming: true };
      const last = state.messages[state.messages.length - 1];
      return {
        ...state,
        exchange: state.exchange + 1,
        streaming: true,
        error: null,
        messages: [
          ...state.messages,
          pendingMessage(PENDING_ASSISTANT_ID, "assistant", "", action.conversationId, action.now, {
            parentId: last?.id ?? null,
          }),
        ],
      };
    }
    case "synced":
      return {
        ...state,
        messages: updateMessage(state.messages, PENDING_ASSISTANT_ID, (message) =>
          message.content === action.text && (message.reasoning ?? null) === (action.reasoning ?? null)
            ? message
            : { ...message, content: action.text, reasoning: action.reasoning ?? message.reasoning },
        ),
      };
    case "tokens":
      if (action.text === "") return state;
      return {
        ...state,
        messages: updateMessage(state.messages, PENDING_ASSISTANT_ID, (message) => ({
          ...message,
          content: message.content + action.text,
        })),
      };
    case "reasoning":
      if (action.text === "") return state;
      return {
        ...state,
        messages: updateMessage(state.messages, PENDING_ASSISTANT_ID, (message) => ({
          ...message,
          reasoning: (message.reasoning ?? "") + action.text,
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
