import { ApiError } from "../../lib/api-client";

/** What Retry does again: send (an edit when `editOf`, the edited message's id, is set) or answer again. */
export type RetryAction =
  | { type: "send"; text: string; editOf?: number; attachmentIds?: number[] }
  | { type: "regenerate"; messageId?: number };

export interface ChatError {
  /** i18n key under chat.errors */
  key: string;
  retry: RetryAction;
  /** When a daily quota resets (ISO), from Retry-After. */
  retryAt?: string;
}

/**
 * The server's machine-readable error codes (the JSON `code` of an error answer and the `code` of an
 * SSE `error` event) and the message each one shows. `busy` and `timeout` are the stream's codes
 * from before the `model_` prefix.
 */
const KEY_FOR_CODE: Record<string, string> = {
  rate_limited: "rate_limited",
  daily_quota: "quota",
  token_quota: "token_quota",
  model_busy: "busy",
  busy: "busy",
  model_timeout: "timeout",
  timeout: "timeout",
  model_rate_limited: "model_rate_limited",
  model_error: "model_error",
  server_stopping: "server_stopping",
  overloaded: "overloaded",
  internal: "internal",
  model_cannot_read_images: "cannot_read_images",
  attachment_in_use: "attachment_in_use",
  files_too_large: "files_too_large",
  too_many_replies: "too_many_replies",
  reply_in_progress: "reply_in_progress",
};

/** The messages that say when the limit resets (from Retry-After). */
const QUOTAS = new Set(["quota", "token_quota"]);

/** A server without codes: the status says what went wrong. */
function keyForStatus(status: number): string {
  if (status === 429) return "rate_limited";
  if (status === 413 || status === 422) return "too_long";
  if (status === 404) return "not_found";
  if (status === 409) return "nothing_to_regenerate";
  if (status === 502) return "model_error";
  if (status === 503) return "busy";
  if (status === 504) return "timeout";
  return "internal";
}

/** The message key for the `code` of an SSE `error` event (it has no Retry-After to tell the reset time). */
export function errorKeyForCode(code: string): string {
  const key = KEY_FOR_CODE[code] ?? "internal";
  return QUOTAS.has(key) ? `${key}_no_time` : key;
}

export function errorKeyFor(error: unknown): string {
  if (!(error instanceof ApiError)) return "network";
  return (error.code !== null ? KEY_FOR_CODE[error.code] : undefined) ?? keyForStatus(error.status);
}

/** What to tell the person; the daily quota comes from the `daily_quota` code, Retry-After only says when it resets. */
export function chatErrorFor(error: unknown, retry: RetryAction, now: Date = new Date()): ChatError {
  const key = errorKeyFor(error);
  if (!QUOTAS.has(key)) return { key, retry };
  const seconds = error instanceof ApiError ? error.retryAfter : null;
  if (seconds === null) return { key: `${key}_no_time`, retry };
  return { key, retry, retryAt: new Date(now.getTime() + seconds * 1000).toISOString() };
}
