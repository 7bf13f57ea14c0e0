import { expect, test, type Page } from "@playwright/test";
import { assistantMessages, composer, logIn, PASSWORD, screenshot, signUp } from "./helpers";

/** The conversation as the API sees it, asked with the page's token. */
async function conversationSettings(page: Page, id: number): Promise<Record<string, unknown>> {
  return page.evaluate(async (conversationId) => {
    const response = await fetch(`/api/conversations/${conversationId}`, {
      headers: { Authorization: `Bearer ${localStorage.getItem("conversa.token") ?? ""}` },
    });
    return (await response.json()) as Record<string, unknown>;
  }, id);
}

function conversationIdOf(page: Page): number {
  return Number(/\/c\/(\d+)/.exec(page.url())?.[1]);
}

async function waitForReply(page: Page): Promise<void> {
  await expect(page.getByRole("button", { name: /^(Stop|Parar)$/ })).toHaveCount(0, { timeout: 20_000 });
}

test("a Gemini model with thinking and web search: the thoughts, the sources and sandboxed suggestions", async ({
  page,
}) => {
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  await signUp(page);

  // Pick the model: the picker lists each model with its capabilities.
  await page.getByRole("button", { name: /^Model: / }).click();
  const flash = page.getByRole("option", { name: /^Gemini 2\.5 Flash\b/ }).first();
  await expect(flash).toContainText("Web");
  await expect(flash).toContainText("Thinking");
  await expect(page.getByRole("option", { name: /Fake \(development\)/ })).not.toContainText("Web");
  await flash.click();
  await expect(page.getByRole("button", { name: "Model: Gemini 2.5 Flash" })).toBeVisible();

  // Web search (the globe) and thinking on; a persona in the settings panel.
  const globe = page.getByRole("button", { name: "Search the web" });
  await globe.click();
  await expect(globe).toHaveAttribute("aria-pressed", "true");
  await page.getByRole("button", { name: "Think before answering" }).click();
  await page.getByRole("button", { name: "System prompt and temperature" }).click();
  await page.getByRole("textbox", { name: "System prompt" }).fill("Responda como um pirata.");
  await page.getByRole("checkbox", { name: "Model default" }).uncheck();
  await page.getByRole("button", { name: "Save", exact: true }).click();

  await composer(page).fill("O que é o Conversa?");
  await composer(page).press("Enter");

  // The thoughts stream first, in a collapsed block that counts while the model thinks.
  const reply = assistantMessages(page).last();
  const thoughts = reply.getByTestId("reasoning");
  await expect(thoughts).toBeVisible();
  await expect(thoughts.locator("summary")).toHaveText(/^(Thinking… \d+ s|Thought for \d+ s)$/);
  await waitForReply(page);
  await expect(thoughts.locator("summary")).toHaveText(/^Thought for \d+ s$/);
  await expect(thoughts.getByText(/Reading the question/)).toBeHidden();
  await thoughts.locator("summary").click();
  await expect(thoughts.getByText(/Reading the question/)).toBeVisible();

  // The answer, without the thoughts, written by the chosen model.
  const answer = reply.locator(".markdown");
  await expect(answer).toContainText("Hello from the fake Gemini.");
  await expect(answer).not.toContainText("Reading the question");
  await expect(reply.getByTestId("message-model")).toHaveText("gemini-2.5-flash");

  // Numbered citation markers where the supports say, and the Sources list.
  await expect(answer.getByRole("link", { name: "[1]" }).first()).toHaveAttribute("rel", "noopener noreferrer");
  const sources = reply.getByRole("navigation", { name: "Sources" });
  await expect(sources.getByRole("link")).toHaveCount(2);
  for (const link of await sources.getByRole("link").all()) {
    await expect(link).toHaveAttribute("rel", "noopener noreferrer");
    await expect(link).toHaveAttribute("target", "_blank");
  }

  // Google's suggestions render inside the sandboxed frame; their script never runs in the page.
  const frame = page.frameLocator('[data-testid="search-suggestions"]');
  await expect(frame.getByText("conversa")).toBeVisible();
  await frame.getByText("click").click(); // a javascript: link inside the frame
  await page.waitForTimeout(300);
  expect(await page.title()).not.toBe("pwned");
  expect(await page.evaluate(() => document.body.dataset.pwned ?? null)).toBeNull();
  expect(await page.evaluate(() => localStorage.getItem("pwned"))).toBeNull();
  await screenshot(page, "gemini-thinking-sources");

  // The settings were the conversation's, and a reload shows the same reply.
  const id = conversationIdOf(page);
  expect(await conversationSettings(page, id)).toMatchObject({
    model: "gemini-2.5-flash",
    system_prompt: "Responda como um pirata.",
    temperature: 1,
    web_search: true,
    thinking: true,
  });
  await page.reload();
  await expect(assistantMessages(page).last().getByTestId("reasoning")).toContainText(/Thought for \d+ s/);
  await expect(assistantMessages(page).last().getByRole("navigation", { name: "Sources" })).toBeVisible();
  expect(await page.title()).not.toBe("pwned");
  expect(pageErrors).toEqual([]);
});

test("a persona saved from the panel starts a new chat with its settings; the picker changes an open chat", async ({
  page,
}) => {
  await signUp(page);
  await page.getByRole("button", { name: "System prompt and temperature" }).click();
  await page.getByRole("textbox", { name: "System prompt" }).fill("Fale sempre como um poeta.");
  await page.getByLabel("Save as persona named").fill("Poeta");
  await page.getByRole("button", { name: "Save persona" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Persona saved." })).toBeVisible();
  await page.getByRole("button", { name: "Cancel" }).click();

  await page.getByRole("combobox", { name: "Persona" }).selectOption({ label: "Poeta" });
  await composer(page).fill("Olá, poeta");
  await composer(page).press("Enter");
  await waitForReply(page);
  await expect(page).toHaveURL(/\/c\/\d+$/);
  const id = conversationIdOf(page);
  expect(await conversationSettings(page, id)).toMatchObject({ system_prompt: "Fale sempre como um poeta." });
  await expect(page.getByRole("combobox", { name: "Persona" })).toHaveValue(/\d+/);

  // Changing the model of the open chat: the next reply comes from it.
  await page.getByRole("button", { name: /^Model: / }).click();
  await page.getByRole("option", { name: /^Gemini 2\.5 Pro\b/ }).click();
  await expect(page.getByRole("button", { name: "Model: Gemini 2.5 Pro" })).toBeVisible();
  await composer(page).fill("E agora?");
  await composer(page).press("Enter");
  await waitForReply(page);
  await expect(assistantMessages(page).last().getByTestId("message-model")).toHaveText("gemini-2.5-pro");
  expect(await conversationSettings(page, id)).toMatchObject({
    model: "gemini-2.5-pro",
    system_prompt: "Fale sempre como um poeta.",
  });
});

test("theme and language follow the account into a new browser context", async ({ page, browser }) => {
  const email = await signUp(page);
  await page.getByRole("button", { name: "Settings" }).click();
  const saved = page.waitForResponse(
    (response) => response.url().endsWith("/api/me/preferences") && response.request().method() === "PUT",
  );
  await page.getByRole("radio", { name: "Dark" }).check();
  await saved;
  const savedLanguage = page.waitForResponse(
    (response) => response.url().endsWith("/api/me/preferences") && response.request().method() === "PUT",
  );
  await page.getByLabel("Language").selectOption("pt-BR");
  await savedLanguage;
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");

  // Another browser: nothing in its storage, the account brings both.
  const other = await browser.newContext({ locale: "en-US", colorScheme: "light" });
  const second = await other.newPage();
  await logIn(second, email, PASSWORD);
  await expect(second.getByRole("textbox", { name: "Mensagem" })).toBeVisible();
  await expect(second.locator("html")).toHaveAttribute("data-theme", "dark");
  await expect(second.locator("html")).toHaveAttribute("lang", "pt-BR");
  await other.close();
});
