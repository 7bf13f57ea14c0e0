export interface Usage {
  daily_messages_used: number;
  /** null: the server has no daily quota. */
  daily_message_limit: number | null;
  /** ISO date-time of the next reset (midnight UTC). */
  resets_at: string;
}
