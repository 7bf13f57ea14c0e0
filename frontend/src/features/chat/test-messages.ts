import type { Message } from "./types";

interface MessageOptions {
  status?: Message["status"];
  /** Defaults to the previous id (null for id 1): a plain chain. */
  parent?: number | null;
  /** The ids of every version, this one included; defaults to just this one. */
  siblings?: number[];
}

/** A saved message of conversation 7, as the server sends it (tests only). */
export function message(id: number, role: Message["role"], content: string, options: MessageOptions = {}): Message {
  const ids = options.siblings ?? [id];
  return {
    id,
    conversation_id: 7,
    parent_id: options.parent !== undefined ? options.parent : id > 1 ? id - 1 : null,
    role,
    content,
    status: options.status ?? "complete",
    created_at: "2026-11-27T10:00:00Z",
    siblings: { ids, index: ids.indexOf(id) },
  };
}
