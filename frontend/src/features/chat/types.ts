export interface Message {
  id: number;
  conversation_id: number;
  role: "user" | "assistant";
  content: string;
  status: "complete" | "incomplete";
  created_at: string;
}

export interface MessagePage {
  items: Message[];
  has_more: boolean;
}

export type StreamErrorCode =
  | "model_rate_limited"
  | "model_timeout"
  | "model_error"
  | "model_busy"
  | "server_stopping"
  | "internal";

export type ChatStreamEvent =
  | { type: "start"; conversation_id: number; user_message: Message }
  | { type: "token"; text: string }
  | { type: "done"; assistant_message: Message }
  | { type: "title"; conversation_id: number; title: string }
  | { type: "error"; code: StreamErrorCode; message: string; assistant_message: Message | null };
