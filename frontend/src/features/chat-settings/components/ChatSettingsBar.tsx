import { lazy, Suspense, useState } from "react";
import type { TFunction } from "i18next";
import { GlobeIcon, LightbulbIcon, SlidersIcon } from "../../../components/icons";
import { effectiveModel, fitToModel, settingsFromPreset, useModels, usePresets } from "../hooks";
import type { ChatSettings } from "../types";
import { ModelPicker } from "./ModelPicker";

// Opened now and then: its own chunk, out of the first load.
const ChatSettingsPanel = lazy(() => import("./ChatSettingsPanel"));

interface ChatSettingsBarProps {
  /** The caller's translations: this chunk loads after the first paint and keeps i18n out of it. */
  t: TFunction;
  settings: ChatSettings;
  onChange: (settings: ChatSettings) => void;
  disabled?: boolean;
  /** An administrator may share a persona with every user. */
  canShare?: boolean;
}

/** Above the composer: the model, the persona, web search and thinking, and the settings panel. */
export default function ChatSettingsBar({
  t,
  settings,
  onChange,
  disabled = false,
  canShare = false,
}: ChatSettingsBarProps) {
  const models = useModels();
  const presets = usePresets();
  const [panelOpen, setPanelOpen] = useState(false);
  const model = effectiveModel(models.data, settings.model);
  const canSearch = model?.capabilities.web_search ?? false;
  const canThink = model?.capabilities.thinking ?? false;
  const persona = presets.data?.find((preset) => preset.system_prompt === settings.system_prompt);

  return (
    <div className="chat-settings" role="group" aria-label={t("chatSettings.label")}>
      <div className="chat-settings-row">
        {models.data && (
          <ModelPicker
            t={t}
            models={models.data}
            selected={model}
            disabled={disabled}
            onSelect={(chosen) => onChange(fitToModel({ ...settings, model: chosen.id }, chosen))}
          />
        )}
        <label className="persona-select">
          <span className="visually-hidden">{t("chatSettings.persona")}</span>
          <select
            value={persona ? String(persona.id) : ""}
            disabled={disabled}
            onChange={(event) => {
              const chosen = presets.data?.find((preset) => String(preset.id) === event.target.value);
              if (chosen) {
                const next = settingsFromPreset(settings, chosen);
                onChange(fitToModel(next, effectiveModel(models.data, next.model)));
              } else onChange({ ...settings, system_prompt: null });
            }}
          >
            <option value="">
              {settings.system_prompt && !persona ? t("chatSettings.customPersona") : t("chatSettings.defaultPersona")}
            </option>
            {presets.data?.map((preset) => (
              <option key={preset.id} value={preset.id}>
                {preset.name}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          className="icon-button small toggle"
          aria-pressed={settings.web_search}
          aria-label={t("chatSettings.webSearch")}
          title={canSearch ? t("chatSettings.webSearch") : t("chatSettings.webSearchUnavailable")}
          disabled={disabled || !canSearch}
          onClick={() => onChange({ ...settings, web_search: !settings.web_search })}
        >
          <GlobeIcon />
        </button>
        <button
          type="button"
          className="icon-button small toggle"
          aria-pressed={settings.thinking}
          aria-label={t("chatSettings.thinking")}
          title={canThink ? t("chatSettings.thinking") : t("chatSettings.thinkingUnavailable")}
          disabled={disabled || !canThink}
          onClick={() => onChange({ ...settings, thinking: !settings.thinking })}
        >
          <LightbulbIcon />
        </button>
        <button
          type="button"
          className="icon-button small"
          aria-expanded={panelOpen}
          aria-label={t("chatSettings.openPanel")}
          title={t("chatSettings.openPanel")}
          onClick={() => setPanelOpen((open) => !open)}
        >
          <SlidersIcon />
        </button>
      </div>
      {panelOpen && (
        <Suspense fallback={null}>
          <ChatSettingsPanel
            t={t}
            settings={settings}
            disabled={disabled}
            canShare={canShare}
            onSave={(next) => {
              onChange(next);
              setPanelOpen(false);
            }}
            onClose={() => setPanelOpen(false)}
          />
        </Suspense>
      )}
    </div>
  );
}
