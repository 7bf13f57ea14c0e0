export interface ShareLink {
  share_id: string;
  url: string;
  created_at: string;
  /** When the snapshot was last taken. */
  updated_at: string;
}

export interface ShareListItem extends ShareLink {
  conversation_id: number;
  title: string;
}

export interface SharedMessage {
  role: "user" | "assistant";
  content: string;
  created_at: string;
}

export interface SharedConversation {
  title: string;
  messages: SharedMessage[];
  created_at: string;
  updated_at: string;
}

export interface ContinuedConversation {
  id: number;
  title: string;
}
