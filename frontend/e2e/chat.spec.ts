import { expect, test } from "@playwright/test";
import { assistantMessages, composer, lastSavedMessage, screenshot, sendAndWait, signUp, SLOW, userMessages } from "./helpers";

test("send, stream, regenerate, edit and resend, reload keeps the history", async ({ page }) => {
  const consoleErrors: string[] = [];
  page.on("console", (entry) => {
    if (entry.type() === "error") consoleErrors.push(entry.text()); // CSP violations land here too
  });
  page.on("pageerror", (error) => consoleErrors.push(String(error)));
  await signUp(page);
  // 80 ms a word (~4.5 s): the text must still be partial when the test reads it, on a loaded machine.
  await composer(page).fill("Hello streaming world [[pace:80]]");
  await composer(page).press("Enter");

  // The reply streams in: Stop is offered and the text is still partial at some point.
  const stop = page.getByRole("button", { name: "Stop", exact: true });
  await expect(stop).toBeVisible();
  const reply = assistantMessages(page).last();
  await expect(reply).toContainText("You said: Hello streaming world");
  const partial = (await reply.innerText()).length;
  await expect(stop).toHaveCount(0, { timeout: 20_000 });
  await expect(reply).toContainText("And a bit of code.");
  expect((await reply.innerText()).length).toBeGreaterThan(partial);
  await expect(composer(page)).toHaveValue("");
  await expect(composer(page)).toBeFocused();

  // The conversation got its id in the URL and its automatic title in the sidebar.
  await expect(page).toHaveURL(/\/c\/\d+$/);
  await expect(page.getByRole("navigation", { name: "Conversations" }).getByRole("link", { name: "Hello streaming world" })).toBeVisible();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Hello streaming world");
  await expect(page.getByRole("heading", { name: "Today" })).toBeVisible();

  // Regenerate the last reply.
  await page.getByRole("button", { name: "Regenerate reply" }).click();
  await expect(page.getByRole("button", { name: "Stop", exact: true })).toHaveCount(0, { timeout: 20_000 });
  await expect(assistantMessages(page)).toHaveCount(1);
  await expect(assistantMessages(page).last()).toContainText("And a bit of code.");

  // Edit the last user message and resend.
  await page.getByRole("button", { name: "Edit and resend" }).click();
  const editor = page.getByRole("textbox", { name: "Edit your message" });
  await editor.fill("Edited question");
  await page.getByRole("button", { name: "Save and send" }).click();
  await expect(page.getByRole("button", { name: "Stop", exact: true })).toHaveCount(0, { timeout: 20_000 });
  await expect(userMessages(page)).toHaveCount(1);
  await expect(userMessages(page).last()).toContainText("Edited question");
  await expect(assistantMessages(page).last()).toContainText("You said: Edited question");

  // A second exchange, with a code block, then reload.
  await sendAndWait(page, "Some code please:\n```python\ndef greet(name):\n    return f'hi {name}'\n```");
  await expect(page.getByRole("button", { name: "Copy code" })).toBeVisible();
  await expect(page.locator(".code-block code.hljs")).toBeVisible();
  await page.reload();
  await expect(userMessages(page)).toHaveCount(2);
  await expect(userMessages(page).first()).toContainText("Edited question");
  await expect(assistantMessages(page)).toHaveCount(2);
  await expect(assistantMessages(page).last()).toContainText("And a bit of code.");

  await expect(page.locator(".code-block code.hljs")).toBeVisible();
  await screenshot(page, "chat-light");
  await page.getByRole("button", { name: "Settings" }).click();
  await page.getByRole("radio", { name: "Dark" }).check();
  await page.getByRole("button", { name: "Close" }).click();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await screenshot(page, "chat-dark");
  await page.reload();
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");

  // Copy a message.
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
  await userMessages(page).first().getByRole("button", { name: "Copy message" }).click();
  await expect(userMessages(page).first().getByRole("status")).toHaveText("Copied");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe("Edited question");
  expect(consoleErrors).toEqual([]);
});

test("Stop keeps the partial reply, marked incomplete, also after a reload", async ({ page }) => {
  await signUp(page);
  // The fake model echoes the question: a long one keeps the reply streaming for ~5 s (30 ms a
  // word, asked for by SLOW), so a loaded machine still clicks Stop before it ends.
  const filler = "This question goes on for a while, so the reply is still being written when Stop is pressed. ";
  await composer(page).fill(`Please stop me early. ${filler.repeat(8)} ${SLOW}`);
  await composer(page).press("Enter");
  const reply = assistantMessages(page).last();
  await expect(reply).toContainText("You said:");
  await page.getByRole("button", { name: "Stop", exact: true }).click();
  await expect(page.getByRole("button", { name: "Stop", exact: true })).toHaveCount(0);
  await expect(reply).toContainText("Incomplete reply");
  await expect(reply).not.toContainText("And a bit of code.");
  await expect(composer(page)).toBeEnabled();

  await expect(page).toHaveURL(/\/c\/\d+$/);
  // Stop asked the server to stop the reply; it saved what was written.
  const conversationId = Number(new URL(page.url()).pathname.split("/").pop());
  await expect.poll(() => lastSavedMessage(page, conversationId)).toBe("assistant incomplete");
  await page.reload();
  await expect(assistantMessages(page).last()).toContainText("Incomplete reply");
  await expect(assistantMessages(page).last()).toContainText("You said:");
  await expect(assistantMessages(page).last()).not.toContainText("And a bit of code.");
});

test("auto-scroll follows the stream unless the person scrolls up", async ({ page }) => {
  await page.setViewportSize({ width: 900, height: 500 });
  await signUp(page);
  for (let index = 0; index < 3; index++) await sendAndWait(page, `Message number ${index}`);
  const scroller = page.locator(".message-scroller");
  const atBottom = () =>
    scroller.evaluate((element) => element.scrollHeight - element.scrollTop - element.clientHeight < 80);
  expect(await atBottom()).toBe(true);

  await composer(page).fill(`One more ${SLOW}`);
  await composer(page).press("Enter");
  await expect(assistantMessages(page)).toHaveCount(4);
  await scroller.hover();
  await page.mouse.wheel(0, -5000);
  await expect(page.getByRole("button", { name: "Jump to latest" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Stop", exact: true })).toHaveCount(0, { timeout: 20_000 });
  expect(await atBottom()).toBe(false);
  await page.getByRole("button", { name: "Jump to latest" }).click();
  expect(await atBottom()).toBe(true);
});
