import { expect, test } from "@playwright/test";
import { assistantMessages, sendAndWait, signUp, userMessages } from "./helpers";

const PAYLOAD =
  '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script> [click](javascript:window.__xss=1) <a href="javascript:window.__xss=1">a</a>';

test("an XSS payload in a message or a title is shown as text and never runs", async ({ page }) => {
  const dialogs: string[] = [];
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await signUp(page);
  await sendAndWait(page, PAYLOAD);

  await expect(userMessages(page).last()).toContainText('<img src=x onerror="window.__xss=1">');
  const reply = assistantMessages(page).last();
  await expect(reply).toContainText("You said:");
  expect(await reply.locator("img, script, iframe, [onerror]").count()).toBe(0);
  for (const href of await reply.locator("a").evaluateAll((links) => links.map((link) => link.getAttribute("href")))) {
    expect(href ?? "").not.toMatch(/^javascript:/i);
  }
  await reply.getByText("click").click(); // a neutralised link does nothing

  // The same payload as a conversation title.
  const nav = page.getByRole("navigation", { name: "Conversations" });
  await nav.getByRole("listitem").first().hover();
  await nav.getByRole("button", { name: /^Rename/ }).first().click();
  await nav.getByRole("textbox", { name: "New title" }).fill(PAYLOAD.slice(0, 60));
  await nav.getByRole("textbox", { name: "New title" }).press("Enter");
  await expect(nav.getByRole("link", { name: PAYLOAD.slice(0, 60) })).toBeVisible();
  await page.reload();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(PAYLOAD.slice(0, 60));

  expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  expect(dialogs).toEqual([]);
});
