import { apiFetch, apiJson } from "../../lib/api-client";
import { createSseParser } from "./sse-parser";
import type { ChatSettings } from "../chat-settings";
import type { ChatStreamEvent, MessagePage } from "./types";

const STREAM_EVENTS = new Set(["start", "sync", "token", "reasoning", "done", "title", "error"]);

export function listMessages(conversationId: number, beforeId?: number): Promise<MessagePage> {
  const params = new URLSearchParams({ limit: "100" });
  if (beforeId !== undefined) params.set("before_id", String(beforeId));
  return apiJson<MessagePage>(`/api/conversations/${conversationId}/messages?${params}`);
}

/** Reads an SSE response body and hands each known event, parsed, to `onEvent`. */
export async function readChatEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: ChatStreamEvent) => void,
): Promise<void> {
  const parser = createSseParser(({ event, data }) => {
    let payload: Record<string, unknown>;
    try {
      payload = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return;
    }
    const type = event !== "message" ? event : String(payload.type ?? payload.event ?? "");
    if (STREAM_EVENTS.has(type)) onEvent({ ...payload, type } as ChatStreamEvent);
  });
  const reader = body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parser.feed(decoder.decode(value, { stream: true }));
  }
  parser.feed(decoder.decode());
  parser.end();
}

async function streamFrom(
  path: string,
  body: object,
  signal: AbortSignal,
  onEvent: (event: ChatStreamEvent) => void,
): Promise<void> {
  const response = await apiFetch(path, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { Accept: "text/event-stream" },
    signal,
  });
  if (!response.body) throw new Error("The response has no body");
  await readChatEvents(response.body, onEvent);
}

/**
 * Follows the reply being generated in a conversation (from any tab or device): a `sync` event with
 * the text so far, then its tokens. Resolves false at once when nothing is being generated (204);
 * `onAttached` runs before the first event otherwise.
 */
export async function followReply(
  conversationId: number,
  signal: AbortSignal,
  onEvent: (event: ChatStreamEvent) => void,
  onAttached: () => void = () => undefined,
): Promise<boolean> {
  const response = await apiFetch(`/api/conversations/${conversationId}/stream`, {
    headers: { Accept: "text/event-stream" },
    signal,
  });
  if (response.status === 204 || !response.body) return false;
  onAttached();
  await readChatEvents(response.body, onEvent);
  return true;
}

/** Stops the reply being generated in a conversation, whichever connection started it. */
export async function stopReply(conversationId: number): Promise<void> {
  await apiJson(`/api/conversations/${conversationId}/stop`, { method: "POST" });
}

/** Puts the branch through `messageId` on screen for every browser; answers with its last page. */
export function setActiveMessage(conversationId: number, messageId: number): Promise<MessagePage> {
  return apiJson<MessagePage>(`/api/conversations/${conversationId}/active`, {
    method: "PUT",
    json: { message_id: messageId },
  });
}

/** `parent_id` given (an assistant message's id, or null for a new first message): an edit, a new branch. */
export function streamChat(
  request: {
    conversation_id?: number;
    message: string;
    parent_id?: number | null;
    attachment_ids?: number[];
    /** A new conversation's settings (without `conversation_id`). */
    settings?: Partial<ChatSettings>;
  },
  signal: AbortSignal,
  onEvent: (event: ChatStreamEvent) => void,
): Promise<void> {
  return streamFrom("/api/chat/stream", request, signal, onEvent);
}

/** A new answer, as a sibling, to the question of assistant message `messageId` (absent: the active leaf's). */
export function streamRegenerate(
  conversationId: number,
  messageId: number | undefined,
  signal: AbortSignal,
  onEvent: (event: ChatStreamEvent) => void,
): Promise<void> {
  return streamFrom(
    `/api/conversations/${conversationId}/regenerate`,
    messageId === undefined ? {} : { message_id: messageId },
    signal,
    onEvent,
  );
}
