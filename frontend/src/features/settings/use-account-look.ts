import { useEffect } from "react";
import { useTranslation } from "react-i18next";
import { LANGUAGES, setLanguage, type Language } from "../../lib/i18n";
import { usePreferences } from "../chat-settings";
import { saveTheme, storedTheme, THEMES, type Theme } from "./theme";

/**
 * The theme and language saved on the account win over this browser's: they follow the person to
 * another browser. (This browser's copy still paints the first frame before they load.)
 */
export function useAccountLook(): void {
  const preferences = usePreferences();
  const { i18n } = useTranslation();
  const theme = preferences.data?.theme;
  const language = preferences.data?.language;
  useEffect(() => {
    if (theme && (THEMES as readonly string[]).includes(theme) && theme !== storedTheme()) saveTheme(theme as Theme);
  }, [theme]);
  useEffect(() => {
    if (language && (LANGUAGES as readonly string[]).includes(language) && language !== i18n.language) {
      setLanguage(language as Language);
    }
  }, [language, i18n]);
}
