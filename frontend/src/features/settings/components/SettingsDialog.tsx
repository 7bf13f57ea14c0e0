import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Dialog } from "../../../components/Dialog";
import { LANGUAGES, setLanguage, type Language } from "../../../lib/i18n";
import { ApiKeysSection } from "../../api-keys";
import { useHealth } from "../../auth";
import { SharedLinksSection } from "../../shares";
import { THEMES, saveTheme, storedTheme, type Theme } from "../theme";

export function SettingsDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t, i18n } = useTranslation();
  const [theme, setTheme] = useState<Theme>(storedTheme);
  const health = useHealth();

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
          onChange={(event) => setLanguage(event.target.value as Language)}
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
