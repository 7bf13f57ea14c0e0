/** Every message with the same parent (oldest first, this one included) and this one's position. */
export interface Siblings {
  ids: number[];
  index: number;
}

/** A file sent with a message (its bytes: GET /api/uploads/{id}, with the token). */
export interface MessageAttachment {
  id: number;
  name: string;
  mime_type: string;
  size: number;
}

export interface Message {
  id: number;
  conversation_id: number;
  /** The message this one answers or follows; null for a first message. */
  parent_id: number | null;
  role: "user" | "assistant";
  content: string;
  status: "complete" | "incomplete";
  created_at: string;
  siblings: Siblings;
  /** Absent on a message still pending; user messages only. */
  attachments?: MessageAttachment[];
  /** Assistant messages: the model that wrote the reply. */
  model?: string | null;
  /** The model's thought summary, apart from the answer, and how long it thought. */
  reasoning?: string | null;
  reasoning_ms?: number | null;
  /** Web pages a grounded reply cites, in citation order. */
  sources?: Source[];
  /** Spans of `content` (character offsets) and the indices of the sources they cite. */
  citations?: Citation[];
  /** Google's search suggestions (HTML): shown only inside a sandboxed frame. */
  search_entry_point?: string | null;
}

export interface Source {
  title: string;
  url: string;
}

export interface Citation {
  start: number;
  end: number;
  sources: number[];
}

export interface MessagePage {
  items: Message[];
  has_more: boolean;
}

/** The `code` of an SSE `error` event; `rate_limited`, `timeout` and `busy` come from servers before the `model_` codes. */
export type StreamErrorCode =
  | "model_busy"
  | "model_timeout"
  | "model_rate_limited"
  | "model_error"
  | "server_stopping"
  | "overloaded"
  | "daily_quota"
  | "token_quota"
  /** The reply was stopped (the Stop button, from this tab or another): not an error to show. */
  | "stopped"
  | "internal"
  | "rate_limited"
  | "timeout"
  | "busy";

export type ChatStreamEvent =
  | { type: "start"; conversation_id: number; user_message: Message }
  | { type: "token"; text: string }
  /** First event when following a reply in progress: everything it has generated so far. */
  | { type: "sync"; assistant_message_id: number | null; text_so_far: string; reasoning_so_far?: string }
  | { type: "reasoning"; text: string }
  | { type: "done"; assistant_message: Message }
  | { type: "title"; conversation_id: number; title: string }
  | { type: "error"; code: StreamErrorCode; message: string; assistant_message: Message | null };
