import { expect, test } from "@playwright/test";
import { PASSWORD, sendAndWait, signUp, uniqueEmail, userMessages } from "./helpers";

const XSS =
  '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script> [click](javascript:window.__xss=1) shared-marker';

test("a shared link shows the snapshot to anyone, safely, and a signed-in reader can continue it", async ({
  page,
  browser,
}) => {
  await signUp(page);
  await sendAndWait(page, XSS);

  await page.getByRole("button", { name: "Share this conversation" }).click();
  const dialog = page.getByRole("dialog", { name: "Share by link" });
  await dialog.getByRole("button", { name: "Create link" }).click();
  const link = await dialog.getByRole("textbox", { name: "Link" }).inputValue();
  expect(link).toMatch(/\/s\/[A-Za-z0-9_-]{22}$/);
  await dialog.getByRole("button", { name: "Close" }).click();
  await sendAndWait(page, "a later private message");

  // A reader with no account, in a separate browser context.
  const reader = await browser.newContext();
  const view = await reader.newPage();
  const dialogs: string[] = [];
  view.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await view.goto(link);
  await expect(view.locator('meta[name="robots"]')).toHaveAttribute("content", "noindex");
  await expect(view.getByTestId("shared-message-user").first()).toContainText('<img src=x onerror="window.__xss=1">');
  const reply = view.getByTestId("shared-message-assistant").first();
  await expect(reply).toContainText("You said:");
  await expect(reply.locator("ul li").first()).toHaveText("one"); // rendered as Markdown
  expect(await reply.locator("img, script, iframe, [onerror]").count()).toBe(0);
  for (const href of await reply.locator("a").evaluateAll((links) => links.map((a) => a.getAttribute("href")))) {
    expect(href ?? "").not.toMatch(/^javascript:/i);
  }
  await expect(view.getByText("a later private message")).toHaveCount(0);
  expect(await view.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  expect(dialogs).toEqual([]);

  // Continue: sign up from the link, come back, copy it into an own conversation.
  await view.getByRole("button", { name: "Log in to continue this chat" }).click();
  await view.getByRole("link", { name: "Sign up" }).click();
  await view.getByLabel(/^Email$/).fill(uniqueEmail("reader"));
  await view.getByLabel(/^Password$/).fill(PASSWORD);
  await view.getByRole("button", { name: "Sign up" }).click();
  await view.getByRole("button", { name: "Continue this chat" }).click();
  await expect(view).toHaveURL(/\/c\/\d+$/);
  await expect(userMessages(view).first()).toContainText("shared-marker");
  await expect(view.getByText("a later private message")).toHaveCount(0);
  await reader.close();

  // Revoked: a fresh reader gets the not-found page.
  await page.getByRole("button", { name: "Share this conversation" }).click();
  await dialog.getByRole("button", { name: "Revoke" }).click();
  await expect(dialog.getByRole("button", { name: "Create link" })).toBeVisible();
  const late = await browser.newContext();
  const gone = await late.newPage();
  await gone.goto(link);
  await expect(gone.getByText("This link does not exist or was revoked.")).toBeVisible();
  await late.close();
});

test("a refresh shows later messages under the same link, and a revocation from Settings is seen at once, also by the browser that showed it", async ({
  page,
  browser,
}) => {
  await signUp(page);
  await sendAndWait(page, "the shared question");
  await page.getByRole("button", { name: "Share this conversation" }).click();
  const dialog = page.getByRole("dialog", { name: "Share by link" });
  await dialog.getByRole("button", { name: "Create link" }).click();
  const link = await dialog.getByRole("textbox", { name: "Link" }).inputValue();
  await dialog.getByRole("button", { name: "Close" }).click();
  await sendAndWait(page, "a later message");

  // The owner checks the link in another tab: the snapshot only (and now in this browser's cache).
  const firstTab = await page.context().newPage();
  await firstTab.goto(link);
  await expect(firstTab.getByTestId("shared-message-user").locator(".plain-text")).toHaveText(["the shared question"]);
  await firstTab.close();

  // Refreshed: the same link shows the later message to a new reader and in the owner's browser,
  // which had the old snapshot (Open WebUI #7003: "Update and Copy Link" did not update it).
  await page.getByRole("button", { name: "Share this conversation" }).click();
  const refreshed = page.waitForResponse(
    (response) => response.request().method() === "POST" && response.url().endsWith("/share"),
  );
  await dialog.getByRole("button", { name: "Refresh snapshot" }).click();
  expect((await refreshed).status()).toBe(201);
  await expect(dialog.getByRole("textbox", { name: "Link" })).toHaveValue(link);
  await dialog.getByRole("button", { name: "Close" }).click();
  const later = await browser.newContext();
  const reader = await later.newPage();
  await reader.goto(link);
  await expect(reader.getByTestId("shared-message-user").locator(".plain-text")).toHaveText(["the shared question", "a later message"]);
  await later.close();
  const secondTab = await page.context().newPage();
  await secondTab.goto(link);
  await expect(secondTab.getByTestId("shared-message-user").locator(".plain-text")).toHaveText(["the shared question", "a later message"]);
  await secondTab.close();

  // Revoked from Settings → Shared links: the owner's browser shows the not-found page, the API a 404.
  await page.getByRole("button", { name: "Settings" }).click();
  const settings = page.getByRole("dialog", { name: "Settings" });
  const sharedLinks = settings.getByRole("region", { name: "Shared links" });
  await expect(sharedLinks.getByRole("listitem")).toHaveCount(1);
  await sharedLinks.getByRole("button", { name: /^Revoke the link to/ }).click();
  await expect(sharedLinks.getByText("You have not shared any conversation.")).toBeVisible();
  const thirdTab = await page.context().newPage();
  await thirdTab.goto(link);
  await expect(thirdTab.getByText("This link does not exist or was revoked.")).toBeVisible();
  await thirdTab.close();
  const shareId = link.split("/s/")[1];
  expect((await page.request.get(new URL(`/api/shared/${shareId}`, link).href)).status()).toBe(404);
});

test("an API key is shown once, listed by its prefix, works against /v1 and is revoked at once", async ({ page }) => {
  await signUp(page);
  await page.getByRole("button", { name: "Settings" }).click();
  const settings = page.getByRole("dialog", { name: "Settings" });
  await settings.getByLabel("Key name").fill("my editor");
  await settings.getByRole("button", { name: "Create key" }).click();
  const key = await settings.getByLabel("Your new API key").inputValue();
  expect(key).toMatch(/^cv-[A-Za-z0-9_-]{32,}$/);
  await expect(settings.getByRole("button", { name: "Copy key" })).toBeVisible();

  const models = await page.request.get("/v1/models", { headers: { Authorization: `Bearer ${key}` } });
  expect(models.status()).toBe(200);

  await settings.getByRole("button", { name: "Done" }).click();
  await expect(settings.getByLabel("Your new API key")).toHaveCount(0);
  await expect(settings.getByText(`${key.slice(0, 11)}…`)).toBeVisible();
  expect(await page.content()).not.toContain(key);

  await settings.getByRole("button", { name: "Revoke the key “my editor”" }).click();
  await expect(settings.getByText("No API keys yet.")).toBeVisible();
  const refused = await page.request.get("/v1/models", { headers: { Authorization: `Bearer ${key}` } });
  expect(refused.status()).toBe(401);
});
