import { expect, test } from "@playwright/test";
import { composer, sendAndWait, signUp } from "./helpers";

test("rename, search and delete conversations", async ({ page }) => {
  await signUp(page);
  const nav = page.getByRole("navigation", { name: "Conversations" });
  await sendAndWait(page, "Apples and pears");
  await expect(nav.getByRole("link", { name: "Apples and pears" })).toBeVisible();
  await nav.getByRole("link", { name: "New chat" }).click();
  await expect(page.getByRole("heading", { name: "How can I help?" })).toBeVisible();
  await sendAndWait(page, "Bananas are yellow");
  await expect(nav.getByRole("link", { name: "Bananas are yellow" })).toBeVisible();
  await expect(nav.getByRole("heading", { name: "Today" })).toBeVisible();

  // Rename with the keyboard.
  await nav.getByRole("button", { name: "Rename “Apples and pears”" }).focus();
  await page.keyboard.press("Enter");
  const title = nav.getByRole("textbox", { name: "New title" });
  await title.fill("Fruit salad");
  await title.press("Enter");
  await expect(nav.getByRole("link", { name: "Fruit salad" })).toBeVisible();
  await page.reload();
  await expect(nav.getByRole("link", { name: "Fruit salad" })).toBeVisible();

  // Search titles and message text.
  const search = page.getByRole("searchbox", { name: "Search conversations" });
  await search.fill("banana");
  await expect(nav.getByRole("link", { name: "Bananas are yellow" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Fruit salad" })).toHaveCount(0);
  await search.fill("pears");
  await expect(nav.getByRole("link", { name: "Fruit salad" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Bananas are yellow" })).toHaveCount(0);
  await search.fill("nothing like this");
  await expect(nav.getByText("No conversation matches your search.")).toBeVisible();
  await search.fill("");

  // Delete, cancelling once first.
  await nav.getByRole("link", { name: "Bananas are yellow" }).click();
  await expect(page).toHaveURL(/\/c\/\d+$/);
  await nav.getByRole("link", { name: "Bananas are yellow" }).hover();
  await nav.getByRole("button", { name: "Delete “Bananas are yellow”" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete conversation?" });
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  await expect(nav.getByRole("link", { name: "Bananas are yellow" })).toBeVisible();
  await nav.getByRole("link", { name: "Bananas are yellow" }).hover();
  await nav.getByRole("button", { name: "Delete “Bananas are yellow”" }).click();
  await dialog.getByRole("button", { name: "Delete" }).click();
  await expect(nav.getByRole("link", { name: "Bananas are yellow" })).toHaveCount(0);
  await expect(page).toHaveURL(/\/$/);
  await page.reload();
  await expect(nav.getByRole("link", { name: "Bananas are yellow" })).toHaveCount(0);
  await expect(nav.getByRole("link", { name: "Fruit salad" })).toBeVisible();
});

test("export downloads Markdown and JSON", async ({ page }) => {
  await signUp(page);
  await sendAndWait(page, "Export me");
  await page.locator("summary", { hasText: "Export" }).click();
  const [markdown] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Markdown (.md)" }).click(),
  ]);
  expect(markdown.suggestedFilename()).toMatch(/\.md$/);
  await page.locator("summary", { hasText: "Export" }).click();
  const [json] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "JSON (.json)" }).click(),
  ]);
  expect(json.suggestedFilename()).toMatch(/\.json$/);

  // The menu closes like a menu: on a click elsewhere, and on Escape with the focus back on it.
  const summary = page.locator("summary", { hasText: "Export" });
  const markdownItem = page.getByRole("button", { name: "Markdown (.md)" });
  await summary.click();
  await expect(markdownItem).toBeVisible();
  await page.getByRole("heading", { name: "Export me" }).click();
  await expect(markdownItem).toBeHidden();
  await summary.click();
  await expect(markdownItem).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(markdownItem).toBeHidden();
  await expect(summary).toBeFocused();
});

test("each conversation keeps its own draft", async ({ page }) => {
  await signUp(page);
  const nav = page.getByRole("navigation", { name: "Conversations" });
  await sendAndWait(page, "First topic");
  // Until its title arrives, the conversation is itself a "New chat" link (slow under load).
  await expect(nav.getByRole("link", { name: "First topic" })).toBeVisible();
  await nav.getByRole("link", { name: "New chat" }).click();
  // The empty chat is on screen: sendAndWait counts the replies from here, not the first topic's.
  await expect(page.getByRole("heading", { name: "How can I help?" })).toBeVisible();
  await sendAndWait(page, "Second topic");
  await expect(nav.getByRole("link", { name: "Second topic" })).toBeVisible();
  await composer(page).fill("half-written thought about the second topic");
  await nav.getByRole("link", { name: "First topic" }).click();
  await expect(page.getByRole("heading", { name: "First topic" })).toBeVisible();
  await expect(composer(page)).toHaveValue("");
  await composer(page).fill("a note for the first");
  await nav.getByRole("link", { name: "Second topic" }).click();
  await expect(composer(page)).toHaveValue("half-written thought about the second topic");
  await nav.getByRole("link", { name: "First topic" }).click();
  await expect(composer(page)).toHaveValue("a note for the first");
});

test("the sidebar loads older conversations on request", async ({ page }) => {
  await signUp(page);
  const created = await page.evaluate(async () => {
    const headers = {
      Authorization: `Bearer ${localStorage.getItem("conversa.token") ?? ""}`,
      "Content-Type": "application/json",
    };
    for (let i = 1; i <= 55; i += 1) {
      const response = await fetch("/api/conversations", {
        method: "POST",
        headers,
        body: JSON.stringify({ title: `Old topic ${i}` }),
      });
      if (!response.ok) return i;
    }
    return 55;
  });
  expect(created).toBe(55);
  await page.reload();
  const nav = page.getByRole("navigation", { name: "Conversations" });
  await expect(nav.getByRole("link", { name: "Old topic 55", exact: true })).toBeVisible();
  await expect(nav.getByRole("link", { name: /^Old topic \d+$/ })).toHaveCount(50);
  await expect(nav.getByRole("link", { name: "Old topic 1", exact: true })).toHaveCount(0);
  await nav.getByRole("button", { name: "Show more" }).click();
  await expect(nav.getByRole("link", { name: /^Old topic \d+$/ })).toHaveCount(55);
  await expect(nav.getByRole("link", { name: "Old topic 1", exact: true })).toBeVisible();
  await expect(nav.getByRole("button", { name: "Show more" })).toHaveCount(0);
});
