import { describe, expect, it } from "vitest";
import i18n from "../../lib/i18n";
import { displayTitle } from "./display-title";

describe("displayTitle", () => {
  it("translates the server's default title and leaves others alone", async () => {
    await i18n.changeLanguage("pt-BR");
    expect(displayTitle("New chat", i18n.t)).toBe("Nova conversa");
    expect(displayTitle("Receitas", i18n.t)).toBe("Receitas");
    await i18n.changeLanguage("en");
    expect(displayTitle("New chat", i18n.t)).toBe("New chat");
  });
});
