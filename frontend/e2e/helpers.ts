import { expect, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const PASSWORD = "correct horse 42";
/** Put in a question whose reply a test acts on while it streams: the fake model then writes it at
 * 30 ms a word instead of the suite's fast FAKE_LLM_DELAY_MS (app/llm/fake.py). */
export const SLOW = "[[pace:30]]";
const screenshotDir = join(dirname(fileURLToPath(import.meta.url)), "..", "test-results", "screenshots");

let counter = 0;
export function uniqueEmail(tag: string): string {
  counter += 1;
  return `${tag}-${Date.now()}-${counter}@example.com`;
}

export async function signUp(page: Page, email = uniqueEmail("user")): Promise<string> {
  await page.goto("/signup");
  await page.getByLabel(/^(Email|E-mail)$/).fill(email);
  await page.getByLabel(/^(Password|Senha)$/).fill(PASSWORD);
  await page.getByRole("button", { name: /^(Sign up|Criar conta)$/ }).click();
  await expect(page.getByRole("textbox", { name: /^(Message|Mensagem)$/ })).toBeVisible();
  return email;
}

export async function logIn(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

export function composer(page: Page) {
  return page.getByRole("textbox", { name: /^(Message|Mensagem)$/ });
}

export function assistantMessages(page: Page) {
  return page.getByTestId("message-assistant");
}

export function userMessages(page: Page) {
  return page.getByTestId("message-user");
}

/** Sends a message and waits until the reply finished streaming. */
export async function sendAndWait(page: Page, text: string): Promise<void> {
  const before = await assistantMessages(page).count();
  await composer(page).fill(text);
  await composer(page).press("Enter");
  await expect(assistantMessages(page)).toHaveCount(before + 1);
  await expect(page.getByRole("button", { name: /^(Stop|Parar)$/ })).toHaveCount(0, { timeout: 20_000 });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: false });
}

/** "<role> <status>" of the conversation's last saved message, asked of the API with the page's token. */
export async function lastSavedMessage(page: Page, conversationId: number): Promise<string> {
  return page.evaluate(async (id) => {
    const response = await fetch(`/api/conversations/${id}/messages?limit=1`, {
      headers: { Authorization: `Bearer ${localStorage.getItem("conversa.token") ?? ""}` },
    });
    const page = (await response.json()) as { items: { role: string; status: string }[] };
    const last = page.items[page.items.length - 1];
    return last ? `${last.role} ${last.status}` : "";
  }, conversationId);
}
