import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError } from "../../../lib/api-client";
import { listMessages, streamChat, streamRegenerate } from "../api";
import type { ChatStreamEvent, Message } from "../types";

/** Local stand-ins until the server answers with real ids. */
export const PENDING_USER_ID = -1;
export const PENDING_ASSISTANT_ID = -2;

export type RetryAction = { type: "send"; text: string } | { type: "regenerate"; message?: string };

export interface ChatError {
  /** i18n key under chat.errors */
  key: string;
  retry: RetryAction;
  /** When a daily quota resets (ISO), from Retry-After. */
  retryAt?: string;
}

/** A Retry-After this long means the daily quota, not the per-minute rate limit. */
const QUOTA_RETRY_AFTER_S = 15 * 60;

export function chatErrorFor(error: unknown, retry: RetryAction, now: Date = new Date()): ChatError {
  const key = errorKeyFor(error);
  if (key === "rate_limited" && error instanceof ApiError && (error.retryAfter ?? 0) >= QUOTA_RETRY_AFTER_S) {
    const retryAt = new Date(now.getTime() + (error.retryAfter ?? 0) * 1000).toISOString();
    return { key: "quota", retry, retryAt };
  }
  return { key, retry };
}

export interface ChatState {
  messages: Message[];
  hasMore: boolean;
  loading: boolean;
  loadFailed: boolean;
  streaming: boolean;
  error: ChatError | null;
}

interface ChatCallbacks {
  onConversationStarted: (conversationId: number) => void;
  onTitle: (conversationId: number, title: string) => void;
  onActivity: () => void;
}

const EMPTY: ChatState = {
  messages: [],
  hasMore: false,
  loading: false,
  loadFailed: false,
  streaming: false,
  error: null,
};

export function errorKeyFor(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 429) return "rate_limited";
    if (error.status === 413 || error.status === 422) return "too_long";
    if (error.status === 404) return "not_found";
    if (error.status === 409) return "nothing_to_regenerate";
    if (error.status === 502) return "model_error";
    if (error.status === 503) return "busy";
    if (error.status === 504) return "timeout";
    return "internal";
  }
  return "network";
}

function pendingMessage(id: number, role: Message["role"], content: string, conversationId: number): Message {
  return {
    id,
    conversation_id: conversationId,
    role,
    content,
    status: "complete",
    created_at: new Date().toISOString(),
  };
}

function withoutTrailingAssistant(messages: Message[]): Message[] {
  const last = messages[messages.length - 1];
  return last?.role === "assistant" ? messages.slice(0, -1) : messages;
}

/** Messages of one conversation plus the reply being streamed into it. */
export function useChat(conversationId: number | null, callbacks: ChatCallbacks) {
  const [state, setState] = useState<ChatState>(EMPTY);
  const loadedIdRef = useRef<number | null | undefined>(undefined);
  const abortRef = useRef<AbortController | null>(null);
  const callbacksRef = useRef(callbacks);
  useEffect(() => {
    callbacksRef.current = callbacks;
  });

  useEffect(() => {
    // The conversation we just created by sending is already on screen: keep the live stream.
    if (conversationId === loadedIdRef.current) return;
    abortRef.current?.abort();
    loadedIdRef.current = conversationId;
    if (conversationId === null) {
      setState(EMPTY);
      return;
    }
    setState({ ...EMPTY, loading: true });
    listMessages(conversationId)
      .then((page) => {
        if (loadedIdRef.current !== conversationId) return;
        setState((current) => ({ ...current, messages: page.items, hasMore: page.has_more, loading: false }));
      })
      .catch(() => {
        if (loadedIdRef.current !== conversationId) return;
        setState((current) => ({ ...current, loading: false, loadFailed: true }));
      });
  }, [conversationId]);

  useEffect(() => () => abortRef.current?.abort(), []);

  const loadOlder = useCallback(async () => {
    const id = loadedIdRef.current;
    const oldest = state.messages.find((message) => message.id > 0);
    if (!id || !oldest) return;
    const page = await listMessages(id, oldest.id);
    if (loadedIdRef.current !== id) return;
    setState((current) => ({ ...current, messages: [...page.items, ...current.messages], hasMore: page.has_more }));
  }, [state.messages]);

  const replaceMessage = (id: number, replacement: Message | null) =>
    setState((current) => ({
      ...current,
      messages: replacement
        ? current.messages.map((message) => (message.id === id ? replacement : message))
        : current.messages.filter((message) => message.id !== id),
    }));

  /**
   * Runs one streamed exchange. Resolves true when the server accepted the message
   * (a `start` arrived), false when it was refused before that.
   */
  const runStream = useCallback(
    async (
      start: (signal: AbortSignal, onEvent: (event: ChatStreamEvent) => void) => Promise<void>,
      retry: RetryAction,
      rollback: Message[],
    ): Promise<boolean> => {
      const controller = new AbortController();
      abortRef.current = controller;
      // The conversation this exchange belongs to; a new chat learns its id from `start`.
      let owner = loadedIdRef.current;
      const stillHere = () => loadedIdRef.current === owner;
      let started = false;
      let finished = false;
      let reply = "";

      const onEvent = (event: ChatStreamEvent) => {
        if (!stillHere()) return;
        switch (event.type) {
          case "start": {
            started = true;
            if (owner === null) {
              owner = event.conversation_id;
              loadedIdRef.current = owner;
              callbacksRef.current.onConversationStarted(owner);
            }
            setState((current) => {
              const messages = [...current.messages];
              const index = messages.findLastIndex((message) => message.role === "user");
              if (index !== -1) messages[index] = event.user_message;
              return { ...current, messages };
            });
            break;
          }
          case "token":
            reply += event.text;
            setState((current) => ({
              ...current,
              messages: current.messages.map((message) =>
                message.id === PENDING_ASSISTANT_ID ? { ...message, content: reply } : message,
              ),
            }));
            break;
          case "done":
            finished = true;
            replaceMessage(PENDING_ASSISTANT_ID, event.assistant_message);
            break;
          case "title":
            callbacksRef.current.onTitle(event.conversation_id, event.title);
            break;
          case "error":
            finished = true;
            replaceMessage(PENDING_ASSISTANT_ID, event.assistant_message);
            setState((current) => ({ ...current, error: { key: event.code, retry: { type: "regenerate" } } }));
            break;
        }
      };

      const markIncomplete = () =>
        setState((current) => ({
          ...current,
          messages: current.messages
            .filter((message) => message.id !== PENDING_ASSISTANT_ID || message.content !== "")
            .map((message) =>
              message.id === PENDING_ASSISTANT_ID ? { ...message, status: "incomplete" as const } : message,
            ),
        }));

      try {
        await start(controller.signal, onEvent);
        if (!finished && stillHere()) markIncomplete(); // the connection closed early
      } catch (error) {
        if (!stillHere()) return started;
        if (!started) {
          setState((current) => ({
            ...current,
            messages: rollback,
            error: controller.signal.aborted ? null : chatErrorFor(error, retry),
          }));
          return false;
        }
        markIncomplete();
        if (!controller.signal.aborted) {
          setState((current) => ({ ...current, error: chatErrorFor(error, { type: "regenerate" }) }));
        }
      } finally {
        if (abortRef.current === controller) abortRef.current = null;
        if (stillHere()) setState((current) => ({ ...current, streaming: false }));
        callbacksRef.current.onActivity();
      }
      return started;
    },
    [],
  );

  const send = useCallback(
    (text: string): Promise<boolean> => {
      const id = loadedIdRef.current ?? null;
      const rollback = state.messages;
      setState((current) => ({
        ...current,
        streaming: true,
        error: null,
        messages: [
          ...current.messages,
          pendingMessage(PENDING_USER_ID, "user", text, id ?? 0),
          pendingMessage(PENDING_ASSISTANT_ID, "assistant", "", id ?? 0),
        ],
      }));
      return runStream(
        (signal, onEvent) =>
          streamChat(id === null ? { message: text } : { conversation_id: id, message: text }, signal, onEvent),
        { type: "send", text },
        rollback,
      );
    },
    [runStream, state.messages],
  );

  /** Answers the last user message again, first replacing its text when `message` is given. */
  const regenerate = useCallback(
    (message?: string): Promise<boolean> => {
      const id = loadedIdRef.current;
      if (id === null || id === undefined) return Promise.resolve(false);
      const rollback = state.messages;
      setState((current) => {
        const messages = [...withoutTrailingAssistant(current.messages)];
        const index = messages.findLastIndex((item) => item.role === "user");
        const lastUser = messages[index];
        if (message !== undefined && lastUser) messages[index] = { ...lastUser, content: message };
        return {
          ...current,
          streaming: true,
          error: null,
          messages: [...messages, pendingMessage(PENDING_ASSISTANT_ID, "assistant", "", id)],
        };
      });
      return runStream(
        (signal, onEvent) => streamRegenerate(id, message, signal, onEvent),
        { type: "regenerate", message },
        rollback,
      );
    },
    [runStream, state.messages],
  );

  const stop = useCallback(() => abortRef.current?.abort(), []);
  const dismissError = useCallback(() => setState((current) => ({ ...current, error: null })), []);

  return { ...state, send, regenerate, stop, loadOlder, dismissError };
}
