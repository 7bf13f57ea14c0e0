import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import * as api from "./api";
import type { ChatSettings, ModelInfo, Preferences, Preset } from "./types";

export const chatSettingsKeys = {
  models: ["models"] as const,
  preferences: ["preferences"] as const,
  presets: ["presets"] as const,
};

export function useModels() {
  return useQuery({ queryKey: chatSettingsKeys.models, queryFn: api.listModels, staleTime: 60_000 });
}

export function usePreferences(enabled = true) {
  return useQuery({ queryKey: chatSettingsKeys.preferences, queryFn: api.getPreferences, enabled });
}

/** Saves the preferences with `change` applied to the current ones (the whole object is PUT). */
export function useSavePreferences() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (change: Partial<Preferences>) => {
      const current =
        queryClient.getQueryData<Preferences>(chatSettingsKeys.preferences) ??
        (await queryClient.fetchQuery({ queryKey: chatSettingsKeys.preferences, queryFn: api.getPreferences }));
      return api.putPreferences({ ...current, ...change } as Preferences);
    },
    onSuccess: (saved) => queryClient.setQueryData(chatSettingsKeys.preferences, saved),
  });
}

export function usePresets() {
  return useQuery({ queryKey: chatSettingsKeys.presets, queryFn: api.listPresets });
}

export function useCreatePreset() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: api.createPreset,
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: chatSettingsKeys.presets }),
  });
}

export function useDeletePreset() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: api.deletePreset,
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: chatSettingsKeys.presets }),
  });
}

/** The model a conversation answers with: its own while offered, else the server's default. */
export function effectiveModel(models: ModelInfo[] | undefined, id: string | null): ModelInfo | undefined {
  return models?.find((model) => model.id === id) ?? models?.find((model) => model.default);
}

/** A preset's settings over `base` (what a chat started from it gets). */
export function settingsFromPreset(base: ChatSettings, preset: Preset): ChatSettings {
  return {
    model: preset.model ?? base.model,
    system_prompt: preset.system_prompt,
    temperature: preset.temperature ?? base.temperature,
    web_search: preset.web_search ?? base.web_search,
    thinking: preset.thinking ?? base.thinking,
  };
}

/** `settings` with the capabilities `model` lacks switched off. */
export function fitToModel(settings: ChatSettings, model: ModelInfo | undefined): ChatSettings {
  if (!model) return settings;
  return {
    ...settings,
    web_search: settings.web_search && model.capabilities.web_search,
    thinking: settings.thinking && model.capabilities.thinking,
  };
}
