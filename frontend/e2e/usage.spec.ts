import { expect, test } from "@playwright/test";
import { sendAndWait, signUp } from "./helpers";

test("the sidebar shows today's messages against the daily quota and counts a sent one", async ({ page }) => {
  await signUp(page);
  const usage = page.getByTestId("daily-usage");
  await expect(usage).toHaveText("Messages today: 0 of 1,000");

  await sendAndWait(page, "Count me");
  await expect(usage).toHaveText("Messages today: 1 of 1,000");
});
