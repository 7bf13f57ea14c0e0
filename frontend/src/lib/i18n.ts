import i18n, { type BackendModule, type ResourceKey } from "i18next";
import { initReactI18next } from "react-i18next";
import en from "../locales/en.json";

export const LANGUAGES = ["pt-BR", "en"] as const;
export type Language = (typeof LANGUAGES)[number];

const LANGUAGE_KEY = "conversa.lang";

/** pt-BR for a Portuguese browser, English otherwise, unless the person chose one. */
export function detectLanguage(stored: string | null, browserLanguages: readonly string[]): Language {
  if (stored && (LANGUAGES as readonly string[]).includes(stored)) return stored as Language;
  const first = browserLanguages[0] ?? "";
  return first.toLowerCase().startsWith("pt") ? "pt-BR" : "en";
}

function storedLanguage(): string | null {
  try {
    return localStorage.getItem(LANGUAGE_KEY);
  } catch {
    return null;
  }
}

export function setLanguage(language: Language): void {
  localStorage.setItem(LANGUAGE_KEY, language);
  void i18n.changeLanguage(language);
}

i18n.on("languageChanged", (language) => {
  if (typeof document !== "undefined") document.documentElement.lang = language;
});

// English is bundled (the fallback); Portuguese is its own small file, fetched when it is the language
// (keeps ~3 kB out of the initial JavaScript). `ready` resolves once the start language is loaded.
const lazyLocales: BackendModule = {
  type: "backend",
  init: () => undefined,
  read: (language, namespace, done) => {
    // Other namespaces (the admin page's) come with their own lazy chunk.
    if (language !== "pt-BR" || namespace !== "translation") return done(null, {});
    import("../locales/pt-BR.json").then(
      (module) => done(null, module.default as ResourceKey),
      (error: unknown) => done(error instanceof Error ? error.message : "pt-BR failed to load", null),
    );
  },
};

export const ready = i18n.use(lazyLocales).use(initReactI18next).init({
  resources: { en: { translation: en } },
  partialBundledLanguages: true,
  lng: detectLanguage(storedLanguage(), typeof navigator === "undefined" ? [] : navigator.languages ?? [navigator.language]),
  fallbackLng: "en",
  interpolation: { escapeValue: false }, // React escapes
  returnNull: false,
});

export default i18n;
