import { expect, test } from "@playwright/test";
import { composer, screenshot, sendAndWait, signUp } from "./helpers";

test.describe("Portuguese browser", () => {
  test.use({ locale: "pt-BR" });

  test("the app speaks pt-BR and switches to English", async ({ page }) => {
    await page.goto("/login");
    await expect(page.getByRole("heading", { name: "Entrar no Conversa" })).toBeVisible();
    await expect(page.locator("html")).toHaveAttribute("lang", "pt-BR");
    await signUp(page);
    await expect(page.getByRole("heading", { name: "Como posso ajudar?" })).toBeVisible();
    await sendAndWait(page, "Olá, tudo bem?");
    await expect(page.getByRole("heading", { name: "Hoje" })).toBeVisible();
    await expect(page.getByRole("button", { name: "Gerar resposta de novo" })).toBeVisible();
    await screenshot(page, "chat-pt-BR");

    await page.getByRole("button", { name: "Configurações" }).click();
    await page.getByRole("combobox", { name: "Idioma" }).selectOption("en");
    await expect(page.getByRole("dialog", { name: "Settings" })).toBeVisible();
    await page.getByRole("button", { name: "Close" }).click();
    await expect(page.getByRole("heading", { name: "Today" })).toBeVisible();
    await expect(page.locator("html")).toHaveAttribute("lang", "en");
    await page.reload();
    await expect(page.getByRole("button", { name: "Regenerate reply" })).toBeVisible();
  });
});

test.describe("English browser", () => {
  test("the app speaks English", async ({ page }) => {
    await page.goto("/login");
    await expect(page.getByRole("heading", { name: "Log in to Conversa" })).toBeVisible();
    await screenshot(page, "login-light");
  });
});

test.describe("360 px phone", () => {
  test.use({ viewport: { width: 360, height: 740 } });

  test("the sidebar is a drawer and nothing overflows", async ({ page }) => {
    await signUp(page);
    const nav = page.getByRole("navigation", { name: "Conversations" });
    await expect(nav).toBeHidden();
    await sendAndWait(page, "A question from my phone with a table:\n\n| a | b |\n|---|---|\n| 1 | 2 |");
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await screenshot(page, "mobile-chat");
    // The "system" theme follows the operating system.
    await page.emulateMedia({ colorScheme: "dark" });
    await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
    await screenshot(page, "mobile-chat-dark");
    await page.emulateMedia({ colorScheme: "light" });
    await expect(page.locator("html")).toHaveAttribute("data-theme", "light");

    await page.getByRole("button", { name: "Open conversations menu" }).click();
    await expect(nav).toBeVisible();
    await expect(page.getByRole("button", { name: "Close conversations menu" })).toBeFocused();
    // The slide-in transition has ended.
    await page.evaluate(() =>
      Promise.all(document.getAnimations().filter((animation) => animation instanceof CSSTransition).map((a) => a.finished)),
    );
    await screenshot(page, "mobile-drawer");
    await page.keyboard.press("Escape");
    await expect(nav).toBeHidden();

    await page.getByRole("button", { name: "Open conversations menu" }).click();
    await nav.getByRole("link", { name: "New chat" }).click();
    await expect(nav).toBeHidden();
    await expect(page.getByRole("heading", { name: "How can I help?" })).toBeVisible();
    await expect(composer(page)).toBeVisible();
  });

  test("the keyboard alone can send a message", async ({ page }) => {
    await signUp(page);
    await expect(composer(page)).toBeFocused();
    await page.keyboard.type("Typed without a mouse");
    await page.keyboard.press("Enter");
    await expect(page.getByTestId("message-assistant").last()).toContainText("Typed without a mouse", { timeout: 20_000 });
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Shift+Tab");
    const focused = await page.evaluate(() => document.activeElement?.getAttribute("aria-label") ?? document.activeElement?.textContent);
    expect(focused).toBeTruthy();
  });
});
