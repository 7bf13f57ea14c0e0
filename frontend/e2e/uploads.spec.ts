import { expect, test, type Page } from "@playwright/test";
import { assistantMessages, composer, sendAndWait, signUp, userMessages } from "./helpers";

// A 2x2 red PNG.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==",
  "base64",
);

// A one-page PDF whose text is "The rent is 900 euros".
const PDF = Buffer.from(
  "JVBERi0xLjQKMSAwIG9iago8PCAvVHlwZSAvQ2F0YWxvZyAvUGFnZXMgMiAwIFIgPj4KZW5kb2JqCjIgMCBvYmoKPDwgL1R5cGUgL1BhZ2VzIC9LaWRzIFszIDAgUl0gL0NvdW50IDEgPj4KZW5kb2JqCjMgMCBvYmoKPDwgL1R5cGUgL1BhZ2UgL1BhcmVudCAyIDAgUiAvTWVkaWFCb3ggWzAgMCAzMDAgMjAwXSAvQ29udGVudHMgNCAwIFIgL1Jlc291cmNlcyA8PCAvRm9udCA8PCAvRjEgNSAwIFIgPj4gPj4gPj4KZW5kb2JqCjQgMCBvYmoKPDwgL0xlbmd0aCA1MiA+PgpzdHJlYW0KQlQgL0YxIDEyIFRmIDIwIDEwMCBUZCAoVGhlIHJlbnQgaXMgOTAwIGV1cm9zKSBUaiBFVAplbmRzdHJlYW0KZW5kb2JqCjUgMCBvYmoKPDwgL1R5cGUgL0ZvbnQgL1N1YnR5cGUgL1R5cGUxIC9CYXNlRm9udCAvSGVsdmV0aWNhID4+CmVuZG9iagp4cmVmCjAgNgowMDAwMDAwMDAwIDY1NTM1IGYgCjAwMDAwMDAwMDkgMDAwMDAgbiAKMDAwMDAwMDA1OCAwMDAwMCBuIAowMDAwMDAwMTE1IDAwMDAwIG4gCjAwMDAwMDAyNDEgMDAwMDAgbiAKMDAwMDAwMDM0MyAwMDAwMCBuIAp0cmFpbGVyCjw8IC9TaXplIDYgL1Jvb3QgMSAwIFIgPj4Kc3RhcnR4cmVmCjQxMwolJUVPRgo=",
  "base64",
);

// 4x4 pictures in the other accepted image formats (Pillow).
const JPEG = Buffer.from(
  "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/2wBDAQkJCQwLDBgNDRgyIRwhMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjIyMjL/wAARCAAEAAQDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDxyiiiv3E8w//Z",
  "base64",
);
const WEBP = Buffer.from("UklGRjoAAABXRUJQVlA4IC4AAADQAQCdASoEAAQAAUAmJaACdLoB+AADsAD+82mX/mwIGaH0wf+mkeNI8aR8poAA", "base64");
const GIF = Buffer.from("R0lGODdhBAAEAIEAAP//AAAAAAAAAAAAACwAAAAABAAEAAAICQABCBxIsCCAgAA7", "base64");

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
  const chips = page.locator(".composer .attachment-chip");
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
  // The fake model cannot read images: the send is refused with a clear message, nothing is lost.
  await composer(page).fill("Here are my files");
  await composer(page).press("Enter");
  await expect(page.getByRole("alert").filter({ hasText: "This model cannot read images" })).toBeVisible();
  await expect(composer(page)).toHaveValue("Here are my files");
  await expect(chips).toHaveCount(2);
  await page.getByRole("button", { name: "Dismiss" }).click();
  await page.getByRole("button", { name: "Remove red.png" }).click();
  await sendAndWait(page, "Here are my files");
  await expect(chips).toHaveCount(0);
  await expect(userMessages(page).last().getByRole("button", { name: /Download notes\.md/ })).toBeVisible();
});

test("send a PDF and a text file: the model reads them, the message shows chips that download with the token", async ({
  page,
}) => {
  await signUp(page);
  await attachInput(page).setInputFiles([
    { name: "contract.pdf", mimeType: "application/pdf", buffer: PDF },
    { name: "list.txt", mimeType: "text/plain", buffer: Buffer.from("milk, eggs") },
  ]);
  const chips = page.locator(".composer .attachment-chip");
  await expect(chips.nth(0)).toHaveClass(/ready/);
  await expect(chips.nth(1)).toHaveClass(/ready/);
  // A message may be only its files.
  await composer(page).press("Enter");
  await expect(assistantMessages(page).last()).toContainText("The rent is 900 euros");
  await expect(assistantMessages(page).last()).toContainText("milk, eggs");
  const sent = userMessages(page).last();
  await expect(sent.getByRole("button", { name: /Download contract\.pdf/ })).toBeVisible();
  const download = page.waitForEvent("download");
  await sent.getByRole("button", { name: /Download list\.txt/ }).click();
  expect((await download).suggestedFilename()).toBe("list.txt");

  // Opened again, the conversation lists the files from the server.
  await page.reload();
  await expect(userMessages(page).last().getByRole("button", { name: /Download contract\.pdf/ })).toBeVisible();
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

test("to a Gemini model: every image type and text files; the sent message shows thumbnails that open full size", async ({
  page,
}) => {
  await signUp(page);
  // A model that reads images (answered by the local fake Gemini server).
  await page.getByRole("button", { name: /^Model: / }).click();
  await page.getByRole("option", { name: /^Gemini 2\.5 Flash\b/ }).first().click();
  await expect(page.getByRole("button", { name: "Model: Gemini 2.5 Flash" })).toBeVisible();

  await attachInput(page).setInputFiles([
    { name: "red.png", mimeType: "image/png", buffer: PNG },
    { name: "blue.jpg", mimeType: "image/jpeg", buffer: JPEG },
    { name: "green.webp", mimeType: "image/webp", buffer: WEBP },
    { name: "yellow.gif", mimeType: "image/gif", buffer: GIF },
    { name: "table.csv", mimeType: "text/csv", buffer: Buffer.from("a,b\n1,2\n") },
  ]);
  const chips = page.locator(".composer .attachment-chip");
  await expect(chips).toHaveCount(5);
  for (let i = 0; i < 5; i++) await expect(chips.nth(i)).toHaveClass(/ready/);
  await expect(chips.locator("img.attachment-thumb")).toHaveCount(4);
  await composer(page).fill("What are these?");
  await composer(page).press("Enter");
  await expect(page.getByRole("button", { name: /^(Stop|Parar)$/ })).toHaveCount(0, { timeout: 20_000 });
  await expect(assistantMessages(page).last()).not.toBeEmpty();
  await expect(chips).toHaveCount(0);

  const sent = userMessages(page).last();
  const thumbnails = sent.locator("button.message-thumb img");
  await expect(thumbnails).toHaveCount(4);
  // Each thumbnail is the stored file fetched with the token, decoded by the browser.
  for (let i = 0; i < 4; i++) {
    await expect(thumbnails.nth(i)).toHaveAttribute("src", /^blob:/);
    await expect.poll(() => thumbnails.nth(i).evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  }
  await expect(sent.getByRole("button", { name: /Download table\.csv/ })).toBeVisible();

  await sent.getByRole("button", { name: "Open blue.jpg" }).click();
  const dialog = page.getByRole("dialog", { name: "blue.jpg" });
  await expect(dialog).toBeVisible();
  const full = dialog.locator("img.message-image-full");
  await expect.poll(() => full.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(4);
  await dialog.getByRole("button", { name: "Close" }).click();
  await expect(dialog).toBeHidden();

  // Opened again, the thumbnails come from the server.
  await page.reload();
  await expect(userMessages(page).last().locator("button.message-thumb img")).toHaveCount(4);
});
