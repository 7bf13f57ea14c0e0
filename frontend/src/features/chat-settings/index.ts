export { ChatSettingsBar } from "./components/ChatSettingsBar";
export { CapabilityBadges } from "./components/ModelPicker";
export { effectiveModel, useModels, usePreferences, useSavePreferences } from "./hooks";
export type { ChatSettings, ModelInfo, Preferences } from "./types";
export { DEFAULT_SETTINGS } from "./types";
