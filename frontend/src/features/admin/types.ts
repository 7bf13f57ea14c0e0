import type { User } from "../auth";

export type AdminUser = User;

export type UsageGroup = "day" | "user" | "model";

export interface UsageRow {
  /** The day (YYYY-MM-DD), the user's email, or the model ("(titles)": title generation). */
  key: string;
  user_id: number | null;
  messages: number;
  input_tokens: number;
  output_tokens: number;
  title_input_tokens: number;
  title_output_tokens: number;
  /** null: no price known (MODEL_PRICES). */
  cost_usd: number | null;
}

export interface UsageReport {
  start: string;
  end: string;
  group: UsageGroup;
  rows: UsageRow[];
  total: UsageRow;
}

export interface RuntimeSettings {
  allow_signup: boolean;
  user_daily_messages: number;
  user_daily_tokens: number;
  user_monthly_tokens: number;
  /** The keys set at run time; the others follow the environment. */
  overridden: string[];
  environment: Record<SettingKey, boolean | number>;
}

export type SettingKey = "allow_signup" | "user_daily_messages" | "user_daily_tokens" | "user_monthly_tokens";

export type SettingsChange = Partial<Record<SettingKey, boolean | number | null>>;
