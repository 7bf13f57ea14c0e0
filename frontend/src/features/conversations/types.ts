export interface Conversation {
  id: number;
  title: string;
  created_at: string;
  updated_at: string;
  /** A reply is being written in it now (the chat reattaches to it when opened). */
  generating?: boolean;
}

/** A sidebar entry; a search answer also carries its best match. */
export interface ConversationListItem extends Conversation {
  message_id?: number | null;
  /** HTML-escaped text around the match, the matched words in <mark>. */
  snippet?: string | null;
}

export interface ConversationPage {
  items: ConversationListItem[];
  total: number;
}

export type ExportFormat = "markdown" | "json";
