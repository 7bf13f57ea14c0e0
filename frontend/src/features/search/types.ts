export interface SearchHit {
  conversation_id: number;
  conversation_title: string;
  message_id: number;
  role: "user" | "assistant";
  /** HTML-escaped text around the match, the matched words in <mark>. */
  snippet: string;
  created_at: string;
}

export interface SearchPage {
  items: SearchHit[];
  has_more: boolean;
}
