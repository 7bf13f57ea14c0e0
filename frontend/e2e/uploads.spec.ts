import { expect, test, type Page } from "@playwright/test";
import { composer, sendAndWait, signUp } from "./helpers";

// A 2x2 red PNG.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==",
  "base64",
);

function attachInput(page: Page) {
  return page.getByTestId("attach-input");
}

test("attach files: thumbnails, errors on the chip, remove, and the upload is the user's own", async ({ page }) => {
  await signUp(page);
  await attachInput(page).setInputFiles([
    { name: "red.png", mimeType: "image/png", buffer: PNG },
    { name: "notes.md", mimeType: "text/markdown", buffer: Buffer.from("# Notes\n") },
    { name: "tool.exe", mimeType: "application/octet-stream", buffer: Buffer.from([0x4d, 0x5a, 0, 0, 0, 0]) },
  ]);
  const chips = page.locator(".attachment-chip");
  await expect(chips).toHaveCount(3);
  await expect(chips.nth(0).locator("img.attachment-thumb")).toBeVisible();
  await expect(chips.nth(0)).toHaveClass(/ready/);
  await expect(chips.nth(1)).toContainText("notes.md");
  await expect(chips.nth(1)).toHaveClass(/ready/);
  await expect(chips.nth(2).getByRole("alert")).toHaveText("This type of file is not supported");

  // The thumbnail of a stored image is fetched with the token: without it the file is not served.
  const response = await page.request.get("/api/uploads/1");
  expect(response.status()).toBe(401);

  await page.getByRole("button", { name: "Remove tool.exe" }).click();
  await expect(chips).toHaveCount(2);
  await sendAndWait(page, "Here are my files");
});

test("drop a file onto the chat and paste an image", async ({ page }) => {
  await signUp(page);
  await page.evaluate((bytes) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([new Uint8Array(bytes)], "dropped.png", { type: "image/png" }));
    const chat = document.querySelector("section.chat")!;
    chat.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    chat.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, [...PNG]);
  await expect(page.locator(".attachment-chip", { hasText: "dropped.png" })).toHaveClass(/ready/);

  await composer(page).focus();
  await page.evaluate((bytes) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([new Uint8Array(bytes)], "image.png", { type: "image/png" }));
    document.activeElement!.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true }));
  }, [...PNG]);
  await expect(page.locator(".attachment-chip", { hasText: "image.png" })).toHaveClass(/ready/);
});
