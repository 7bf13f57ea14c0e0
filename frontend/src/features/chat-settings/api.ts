import { apiJson } from "../../lib/api-client";
import type { ModelInfo, Preferences, Preset, PresetInput } from "./types";

export const listModels = () => apiJson<ModelInfo[]>("/api/models");

export const getPreferences = () => apiJson<Preferences>("/api/me/preferences");

export const putPreferences = (preferences: Preferences) =>
  apiJson<Preferences>("/api/me/preferences", { method: "PUT", json: preferences });

export const listPresets = () => apiJson<Preset[]>("/api/presets");

export const createPreset = (preset: PresetInput) => apiJson<Preset>("/api/presets", { method: "POST", json: preset });

export const deletePreset = (id: number) => apiJson<void>(`/api/presets/${id}`, { method: "DELETE" });
