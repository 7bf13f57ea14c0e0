import { describe, expect, it } from "vitest";
import en from "../locales/en.json";
import ptBR from "../locales/pt-BR.json";
import i18n, { detectLanguage } from "./i18n";

function keysOf(value: unknown, prefix = ""): string[] {
  if (typeof value !== "object" || value === null) return [prefix];
  return Object.entries(value).flatMap(([key, child]) => keysOf(child, prefix ? `${prefix}.${key}` : key));
}

describe("i18n", () => {
  it("picks pt-BR for a Portuguese browser and English otherwise", () => {
    expect(detectLanguage(null, ["pt-BR", "en"])).toBe("pt-BR");
    expect(detectLanguage(null, ["pt-PT"])).toBe("pt-BR");
    expect(detectLanguage(null, ["en-US", "pt-BR"])).toBe("en");
    expect(detectLanguage(null, ["de"])).toBe("en");
    expect(detectLanguage(null, [])).toBe("en");
  });

  it("keeps the language the person chose", () => {
    expect(detectLanguage("en", ["pt-BR"])).toBe("en");
    expect(detectLanguage("pt-BR", ["en"])).toBe("pt-BR");
    expect(detectLanguage("klingon", ["pt-BR"])).toBe("pt-BR");
  });

  it("has the same keys in both languages, none empty, and loads Portuguese on demand", async () => {
    expect(keysOf(ptBR).sort()).toEqual(keysOf(en).sort());
    await i18n.loadLanguages("pt-BR");
    for (const key of keysOf(ptBR)) {
      expect(i18n.getResource("pt-BR", "translation", key)).toBe(key.split(".").reduce<unknown>(
        (node, part) => (node as Record<string, unknown>)[part], ptBR));
    }
  });

  it("translates when the language changes", async () => {
    await i18n.changeLanguage("pt-BR");
    expect(i18n.t("conversations.groups.today")).toBe("Hoje");
    expect(i18n.t("conversations.groups.last7Days")).toBe("Últimos 7 dias");
    expect(document.documentElement.lang).toBe("pt-BR");
    await i18n.changeLanguage("en");
    expect(i18n.t("conversations.groups.today")).toBe("Today");
  });
});
