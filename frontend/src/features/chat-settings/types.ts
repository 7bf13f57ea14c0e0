export interface ModelCapabilities {
  vision: boolean;
  web_search: boolean;
  thinking: boolean;
}

/** A model this server offers (GET /api/models). */
export interface ModelInfo {
  id: string;
  provider: string;
  label: string;
  capabilities: ModelCapabilities;
  default: boolean;
}

/** A conversation's settings; null model / prompt / temperature: the server's defaults. */
export interface ChatSettings {
  model: string | null;
  system_prompt: string | null;
  temperature: number | null;
  web_search: boolean;
  thinking: boolean;
}

export type ThemePreference = "system" | "light" | "dark";

/** The account's defaults for new chats and the web app's look (GET/PUT /api/me/preferences). */
export interface Preferences extends ChatSettings {
  language: "en" | "pt-BR" | null;
  theme: ThemePreference;
}

/** A persona: a named system prompt, and optionally the settings a chat started from it gets. */
export interface Preset {
  id: number;
  name: string;
  system_prompt: string;
  model: string | null;
  temperature: number | null;
  web_search: boolean | null;
  thinking: boolean | null;
  shared: boolean;
  mine: boolean;
}

export type PresetInput = Pick<Preset, "name" | "system_prompt"> &
  Partial<Pick<Preset, "model" | "temperature" | "web_search" | "thinking" | "shared">>;

export const SYSTEM_PROMPT_MAX_CHARS = 8000;

export const DEFAULT_SETTINGS: ChatSettings = {
  model: null,
  system_prompt: null,
  temperature: null,
  web_search: false,
  thinking: false,
};
