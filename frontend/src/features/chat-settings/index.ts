export { LazyChatSettingsBar as ChatSettingsBar } from "./lazy";
export { effectiveModel, useModels, usePreferences, useSavePreferences } from "./hooks";
export type { ChatSettings, ModelInfo, Preferences } from "./types";
export { DEFAULT_SETTINGS } from "./types";
