import { expect, test } from "@playwright/test";
import { composer, logIn, PASSWORD, signUp, uniqueEmail } from "./helpers";

test("sign up, log out, log in, change password", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("heading", { name: "Log in to Conversa" })).toBeVisible();

  const email = await signUp(page, uniqueEmail("auth"));
  await expect(page.getByText(email)).toBeVisible();

  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("status")).toHaveText("You have logged out.");

  await logIn(page, email, "wrong password");
  await expect(page.getByRole("alert")).toHaveText("Incorrect email or password.");
  await logIn(page, email);
  await expect(composer(page)).toBeVisible();

  await page.getByRole("button", { name: "Change password" }).click();
  const dialog = page.getByRole("dialog", { name: "Change password" });
  await dialog.getByLabel("Current password").fill("not my password");
  await dialog.getByLabel("New password", { exact: true }).fill("a brand new secret");
  await dialog.getByLabel("Repeat the new password").fill("a brand new secret");
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(dialog.getByRole("alert")).toHaveText("The current password is wrong.");
  await dialog.getByLabel("Current password").fill(PASSWORD);
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(dialog.getByRole("status")).toContainText("Your password was changed");
  await dialog.getByRole("button", { name: "Close" }).click();

  // The fresh token was stored: the app keeps working after a reload.
  await page.reload();
  await expect(composer(page)).toBeVisible();

  await page.getByRole("button", { name: "Log out" }).click();
  await logIn(page, email, "a brand new secret");
  await expect(composer(page)).toBeVisible();
});

test("a rejected token sends the person back to log in with a message", async ({ page }) => {
  await signUp(page);
  await page.evaluate(() => localStorage.setItem("conversa.token", "not-a-valid-token"));
  await page.reload();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("status")).toHaveText("Your session has ended. Please log in again.");
});
