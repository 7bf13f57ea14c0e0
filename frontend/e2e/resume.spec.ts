import { expect, test, type Page } from "@playwright/test";
import { assistantMessages, composer, lastSavedMessage, sendAndWait, signUp, SLOW, userMessages } from "./helpers";

// The fake model echoes the question, then its own filler (ending "And a bit of code."), at 30 ms
// a word (SLOW): this question makes a reply of about 8 s, long enough to reload or leave in the middle.
const LONG_QUESTION = `Please answer at length: ${Array.from({ length: 200 }, (_, i) => `word${i}`).join(" ")} ${SLOW}`;

function conversationIdOf(page: Page): number {
  return Number(new URL(page.url()).pathname.split("/").pop());
}

async function startLongReply(page: Page): Promise<number> {
  await composer(page).fill(LONG_QUESTION);
  await composer(page).press("Enter");
  await expect(assistantMessages(page).last()).toContainText("word5");
  await expect(page).toHaveURL(/\/c\/\d+$/);
  return conversationIdOf(page);
}

test("a reload in the middle of a reply shows the text so far and keeps streaming to the end", async ({ page }) => {
  await signUp(page);
  const posts: string[] = [];
  page.on("request", (request) => {
    if (request.method() === "POST" && request.url().includes("/chat/stream")) posts.push(request.url());
  });
  const id = await startLongReply(page);
  await page.reload();
  const reply = assistantMessages(page).last();
  // The text generated before the reload is there at once, and the reply is still being written.
  await expect(reply).toContainText("You said: Please answer at length: word0 word1 word2 word3 word4 word5");
  await expect(page.getByRole("button", { name: "Stop", exact: true })).toBeVisible();
  // The sidebar marks the conversation whose reply is being written.
  const entry = page.getByRole("navigation", { name: "Conversations" }).locator(`a[href="/c/${id}"]`);
  await expect(entry.getByTitle("writing a reply")).toBeVisible();
  await expect(reply).not.toContainText("And a bit of code.");
  await expect(reply).toContainText("And a bit of code.", { timeout: 20_000 });
  await expect(page.getByRole("button", { name: "Stop", exact: true })).toHaveCount(0);
  await expect(entry.getByTitle("writing a reply")).toHaveCount(0);
  await expect(reply).not.toContainText("Incomplete reply");
  expect(posts).toHaveLength(1); // the question was never posted again
  await expect(userMessages(page)).toHaveCount(1);
  await expect.poll(() => lastSavedMessage(page, id)).toBe("assistant complete");
  // No word twice, none missing: what is on screen after the reattach is the saved reply.
  await page.reload();
  await expect(assistantMessages(page).last()).toContainText("And a bit of code.");
  const saved = await assistantMessages(page).last().innerText();
  expect(saved.match(/word199/g)).toHaveLength(1);
});

test("switching to another conversation and back reattaches to the reply being written", async ({ page }) => {
  await signUp(page);
  const nav = page.getByRole("navigation", { name: "Conversations" });
  await sendAndWait(page, "Apples and pears");
  await expect(page).toHaveURL(/\/c\/\d+$/);
  const first = conversationIdOf(page);
  // Until its title arrives, the conversation is itself a "New chat" link (slow under load).
  await expect(nav.getByRole("link", { name: "Apples and pears" })).toBeVisible();
  await nav.getByRole("link", { name: "New chat" }).click();
  await expect(page.getByRole("heading", { name: "How can I help?" })).toBeVisible();
  const second = await startLongReply(page);

  await nav.locator(`a[href="/c/${first}"]`).click();
  await expect(assistantMessages(page).last()).toContainText("You said: Apples and pears");
  await expect(page.getByRole("button", { name: "Stop", exact: true })).toHaveCount(0);
  await nav.locator(`a[href="/c/${second}"]`).click();
  const reply = assistantMessages(page).last();
  await expect(reply).toContainText("You said: Please answer at length");
  await expect(page.getByRole("button", { name: "Stop", exact: true })).toBeVisible();
  await expect(reply).toContainText("And a bit of code.", { timeout: 20_000 });
  await expect(reply).not.toContainText("Incomplete reply");
  await expect(userMessages(page)).toHaveCount(1);
  await expect.poll(() => lastSavedMessage(page, second)).toBe("assistant complete");
});

test("Stop after a reload stops the reply on the server and keeps what it wrote", async ({ page }) => {
  await signUp(page);
  const id = await startLongReply(page);
  await page.reload();
  await expect(assistantMessages(page).last()).toContainText("word5");
  await page.getByRole("button", { name: "Stop", exact: true }).click();
  await expect(page.getByRole("button", { name: "Stop", exact: true })).toHaveCount(0);
  const reply = assistantMessages(page).last();
  await expect(reply).toContainText("Incomplete reply");
  await expect(reply).not.toContainText("And a bit of code.");
  await expect.poll(() => lastSavedMessage(page, id)).toBe("assistant incomplete");
  await page.reload();
  await expect(assistantMessages(page).last()).toContainText("Incomplete reply");
  await expect(assistantMessages(page).last()).not.toContainText("And a bit of code.");
});
