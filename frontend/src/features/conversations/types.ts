export interface Conversation {
  id: number;
  title: string;
  created_at: string;
  updated_at: string;
  /** A reply is being written in it now (the chat reattaches to it when opened). */
  generating?: boolean;
  /** The settings every turn uses (null model / prompt / temperature: the server's defaults). */
  model?: string | null;
  system_prompt?: string | null;
  temperature?: number | null;
  web_search?: boolean;
  thinking?: boolean;
}

export type ConversationSettingsChange = Partial<
  Pick<Conversation, "model" | "system_prompt" | "temperature" | "web_search" | "thinking">
>;

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
