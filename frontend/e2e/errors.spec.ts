import { expect, test } from "@playwright/test";
import { assistantMessages, composer, screenshot, signUp, userMessages } from "./helpers";

test("a model error shows Retry and keeps the person's text", async ({ page }) => {
  await signUp(page);
  await composer(page).fill("Tell me something [[fail]]");
  await composer(page).press("Enter");
  const alert = page.getByRole("alert");
  await expect(alert).toContainText("The model could not answer this time.");
  await expect(userMessages(page).last()).toContainText("Tell me something [[fail]]");
  await expect(assistantMessages(page)).toHaveCount(0);

  // Retry answers the same message again (and the fake model fails again).
  await alert.getByRole("button", { name: "Retry" }).click();
  await expect(page.getByRole("alert")).toContainText("The model could not answer this time.");
  await expect(userMessages(page)).toHaveCount(1);

  // The text survives a reload, and editing it away from the failure mark gets an answer.
  await page.reload();
  await expect(userMessages(page).last()).toContainText("Tell me something [[fail]]");
  await page.getByRole("button", { name: "Edit and resend" }).click();
  await page.getByRole("textbox", { name: "Edit your message" }).fill("Tell me something");
  await page.getByRole("button", { name: "Save and send" }).click();
  await expect(assistantMessages(page).last()).toContainText("And a bit of code.", { timeout: 20_000 });
  await expect(page.getByRole("alert")).toHaveCount(0);
});

test("a failure in the middle of a reply keeps the partial reply and offers Retry", async ({ page }) => {
  await signUp(page);
  await composer(page).fill("Half an answer [[fail-mid]]");
  await composer(page).press("Enter");
  await expect(page.getByRole("alert")).toContainText("The model could not answer this time.");
  const reply = assistantMessages(page).last();
  await expect(reply).toContainText("You said:");
  await expect(reply).toContainText("Incomplete reply");
  await expect(page.getByRole("alert").getByRole("button", { name: "Retry" })).toBeVisible();
  await screenshot(page, "chat-error");
});

test("a request that never reached the server puts the text back in the composer", async ({ page }) => {
  await signUp(page);
  await page.route("**/api/chat/stream", (route) => route.abort("connectionrefused"));
  await composer(page).fill("Do not lose me");
  await composer(page).press("Enter");
  await expect(page.getByRole("alert")).toContainText("Could not reach the server. Your text was kept.");
  await expect(composer(page)).toHaveValue("Do not lose me");
  await expect(userMessages(page)).toHaveCount(0);

  await page.unroute("**/api/chat/stream");
  await page.getByRole("button", { name: "Retry" }).click();
  await expect(assistantMessages(page).last()).toContainText("And a bit of code.", { timeout: 20_000 });
  await expect(userMessages(page).last()).toContainText("Do not lose me");
  await expect(composer(page)).toHaveValue("");
});
