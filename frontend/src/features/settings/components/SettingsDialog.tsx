import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Dialog } from "../../../components/Dialog";
import { LANGUAGES, setLanguage, type Language } from "../../../lib/i18n";
import { ApiKeysSection } from "../../api-keys";
import { useHealth } from "../../auth";
import { usePreferences, useSavePreferences } from "../../chat-settings";
import { SharedLinksSection } from "../../shares";
import { THEMES, saveTheme, storedTheme, type Theme } from "../theme";

export function SettingsDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const [chosen, setTheme] = useState<Theme | null>(null);
  const preferences = usePreferences();
  const health = useHealth();
  const savePreferences = useSavePreferences();
  // The account's theme (it may arrive after this dialog was first rendered), until one is picked here.
  const theme: Theme = chosen ?? preferences.data?.theme ?? storedTheme();

  return (
    <Dialog open={open} title={t("settings.title")} onClose={onClose}>
      <fieldset className="choice-group">
        <legend>{t("settings.theme")}</legend>
        {THEMES.map((option) => (
          <label key={option} className="choice">
            <input
              type="radio"
              name="theme"
              value={option}
              checked={theme === option}
              onChange={() => {
                setTheme(option);
                saveTheme(option);
                savePreferences.mutate({ theme: option });
              }}
            />
            {t(`settings.themes.${option}`)}
          </label>
        ))}
      </fieldset>
      <label className="field">
        <span>{t("settings.language")}</span>
        <select
          value={i18n.language}
          onChange={(event) => {
            const language = event.target.value as Language;
            setLanguage(language);
            savePreferences.mutate({ language });
          }}
        >
          {LANGUAGES.map((language) => (
            <option key={language} value={language} lang={language}>
              {t(`settings.languages.${language}`)}
            </option>
          ))}
        </select>
      </label>
      {health.data?.allow_sharing && <SharedLinksSection />}
      {health.data?.allow_api_keys && <ApiKeysSection />}
      <div className="dialog-actions">
        <button type="button" className="button primary" onClick={onClose}>
          {t("common.close")}
        </button>
      </div>
    </Dialog>
  );
}
