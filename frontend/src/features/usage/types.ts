export interface Usage {
  daily_messages_used: number;
  /** null: the server has no daily quota. */
  daily_message_limit: number | null;
  /** ISO date-time of the next reset (midnight UTC). */
  resets_at: string;
  /** Replies' and titles' tokens (input + output). */
  tokens_today: number;
  tokens_this_month: number;
  /** null: no such quota on the server. */
  daily_token_limit: number | null;
  monthly_token_limit: number | null;
  month_resets_at: string;
}
