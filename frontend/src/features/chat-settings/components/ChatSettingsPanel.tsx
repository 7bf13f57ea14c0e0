import { useId, useState, type FormEvent } from "react";
import type { TFunction } from "i18next";
import { useCreatePreset, useDeletePreset, usePresets } from "../hooks";
import { SYSTEM_PROMPT_MAX_CHARS, type ChatSettings } from "../types";

interface ChatSettingsPanelProps {
  /** The bar's translations (this chunk loads on demand and keeps i18n out of it). */
  t: TFunction;
  settings: ChatSettings;
  onSave: (settings: ChatSettings) => void;
  onClose: () => void;
  disabled?: boolean;
  /** An administrator may share a persona with every user. */
  canShare?: boolean;
}

/** The conversation's system prompt and temperature; the prompt can be kept as a persona. */
export default function ChatSettingsPanel({
  t,
  settings,
  onSave,
  onClose,
  disabled = false,
  canShare = false,
}: ChatSettingsPanelProps) {
  const id = useId();
  const [prompt, setPrompt] = useState(settings.system_prompt ?? "");
  const [useDefaultTemperature, setUseDefaultTemperature] = useState(settings.temperature === null);
  const [temperature, setTemperature] = useState(settings.temperature ?? 1);
  const [personaName, setPersonaName] = useState("");
  const [shared, setShared] = useState(false);
  const createPreset = useCreatePreset();
  const deletePreset = useDeletePreset();
  const presets = usePresets();
  const mine = presets.data?.filter((preset) => preset.mine) ?? [];

  function submit(event: FormEvent) {
    event.preventDefault();
    onSave({
      ...settings,
      system_prompt: prompt.trim() ? prompt : null,
      temperature: useDefaultTemperature ? null : temperature,
    });
  }

  return (
    <form className="chat-settings-panel" onSubmit={submit} aria-label={t("chatSettings.panel")}>
      <label className="field" htmlFor={`${id}-prompt`}>
        <span>{t("chatSettings.systemPrompt")}</span>
      </label>
      <textarea
        id={`${id}-prompt`}
        rows={4}
        maxLength={SYSTEM_PROMPT_MAX_CHARS}
        value={prompt}
        placeholder={t("chatSettings.systemPromptPlaceholder")}
        onChange={(event) => setPrompt(event.target.value)}
      />
      <p className="muted small">
        {t("chatSettings.characters", { count: prompt.length, max: SYSTEM_PROMPT_MAX_CHARS })}
      </p>
      <fieldset className="temperature">
        <legend>{t("chatSettings.temperature")}</legend>
        <label className="choice">
          <input
            type="checkbox"
            checked={useDefaultTemperature}
            onChange={(event) => setUseDefaultTemperature(event.target.checked)}
          />
          {t("chatSettings.modelDefault")}
        </label>
        <input
          type="range"
          min={0}
          max={2}
          step={0.1}
          value={temperature}
          disabled={useDefaultTemperature}
          aria-label={t("chatSettings.temperature")}
          onChange={(event) => setTemperature(Number(event.target.value))}
        />
        <output>{useDefaultTemperature ? "—" : temperature.toFixed(1)}</output>
      </fieldset>
      <div className="dialog-actions">
        <button type="button" className="button" onClick={onClose}>
          {t("common.cancel")}
        </button>
        <button type="submit" className="button primary" disabled={disabled}>
          {t("common.save")}
        </button>
      </div>
      <div className="save-persona">
        <label htmlFor={`${id}-persona`}>{t("chatSettings.personaName")}</label>
        <input id={`${id}-persona`} value={personaName} maxLength={100} onChange={(e) => setPersonaName(e.target.value)} />
        {canShare && (
          <label className="choice">
            <input type="checkbox" checked={shared} onChange={(event) => setShared(event.target.checked)} />
            {t("chatSettings.sharePersona")}
          </label>
        )}
        <button
          type="button"
          className="button small"
          disabled={!personaName.trim() || !prompt.trim() || createPreset.isPending}
          onClick={() =>
            createPreset.mutate(
              {
                name: personaName.trim(),
                system_prompt: prompt,
                ...(useDefaultTemperature ? {} : { temperature }),
                ...(shared ? { shared } : {}),
              },
              { onSuccess: () => setPersonaName("") },
            )
          }
        >
          {t("chatSettings.savePersona")}
        </button>
        {createPreset.isSuccess && <span role="status">{t("chatSettings.personaSaved")}</span>}
        {createPreset.isError && <span role="alert">{t("errors.generic")}</span>}
      </div>
      {mine.length > 0 && (
        <ul className="my-personas" aria-label={t("chatSettings.myPersonas")}>
          {mine.map((preset) => (
            <li key={preset.id}>
              <span>
                {preset.name}
                {preset.shared ? ` · ${t("chatSettings.shared")}` : ""}
              </span>
              <button
                type="button"
                className="button small"
                aria-label={t("chatSettings.deletePersona", { name: preset.name })}
                disabled={deletePreset.isPending}
                onClick={() => deletePreset.mutate(preset.id)}
              >
                {t("conversations.deleteShort")}
              </button>
            </li>
          ))}
        </ul>
      )}
    </form>
  );
}
