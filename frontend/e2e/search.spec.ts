import { expect, test } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { screenshot, sendAndWait, signUp } from "./helpers";

/** Appends messages to a conversation straight into the SQLite file, as a bulk import would:
 * the database's own triggers index them. */
function appendMessages(conversationId: number, count: number): void {
  const script = `
import sqlite3, sys
from datetime import datetime, timedelta, timezone
path, conversation, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
start = datetime.now(timezone.utc)
with sqlite3.connect(path, timeout=30) as db:
    parent = db.execute("SELECT max(id) FROM messages WHERE conversation_id = ?", (conversation,)).fetchone()[0]
    for n in range(count):  # a chain under the newest message, which stays the active leaf
        parent = db.execute(
            "INSERT INTO messages (conversation_id, parent_id, role, content, status, created_at)"
            " VALUES (?, ?, ?, ?, 'complete', ?)",
            (conversation, parent, "user" if n % 2 == 0 else "assistant", f"later note number {n}",
             (start + timedelta(seconds=n + 1)).isoformat(" ")),
        ).lastrowid
    db.execute("UPDATE conversations SET active_message_id = ? WHERE id = ?", (parent, conversation))
`;
  const database = join(process.env.E2E_DATA_DIR ?? "", "chat.db");
  execFileSync("../.venv/bin/python", ["-c", script, database, String(conversationId), String(count)]);
}

test("the search dialog opens a conversation at the message found, older pages loaded", async ({ page }) => {
  await signUp(page);
  await sendAndWait(page, "Where do quokkas live?");
  const conversationId = Number(/\/c\/(\d+)/.exec(page.url())?.[1]);
  // 150 newer messages: the match is no longer in the first page of 100 that opening loads.
  appendMessages(conversationId, 150);
  await page.getByRole("link", { name: "New chat" }).first().click();

  await page.keyboard.press("Control+k");
  const dialog = page.getByRole("dialog", { name: "Search messages" });
  await dialog.getByRole("combobox", { name: "Search every message" }).fill("quokka");
  const hit = dialog.getByRole("option").filter({ hasText: "You" }).first();
  await expect(hit.locator("mark").first()).toHaveText(/^quokkas$/i);
  await screenshot(page, "search-dialog");
  await hit.click();

  await expect(page).toHaveURL(new RegExp(`/c/${conversationId}\\?m=\\d+$`));
  const found = page.locator("article.message.highlighted");
  await expect(found).toHaveCount(1);
  await expect(found).toContainText("Where do quokkas live?");
  await expect(found).toBeInViewport();
  await screenshot(page, "search-highlighted-message");
  // Older pages were loaded to reach it: the newest messages are there too.
  await expect(page.getByText("later note number 149")).toHaveCount(1);
});

test("a hit on another branch opens that branch", async ({ page }) => {
  await signUp(page);
  await sendAndWait(page, "Do wombats dig burrows?");
  await sendAndWait(page, "And how deep are they?");
  // Edit the first question: the wombat question and its follow-up are now on the other branch.
  const first = page.getByTestId("message-user").first();
  await first.getByRole("button", { name: "Edit and resend" }).click();
  const editor = page.getByRole("textbox", { name: "Edit your message" });
  await editor.fill("Do badgers dig setts?");
  await editor.press("Enter");
  await expect(page.getByRole("button", { name: "Stop", exact: true })).toHaveCount(0, { timeout: 20_000 });
  await expect(page.getByTestId("message-user")).toHaveCount(1);

  await page.keyboard.press("Control+k");
  const dialog = page.getByRole("dialog", { name: "Search messages" });
  await dialog.getByRole("combobox", { name: "Search every message" }).fill("deep");
  await dialog.getByRole("option").filter({ hasText: "You" }).first().click();

  const found = page.locator("article.message.highlighted");
  await expect(found).toContainText("And how deep are they?");
  const questions = page.getByTestId("message-user");
  await expect(questions).toHaveCount(2);
  await expect(questions.first()).toContainText("Do wombats dig burrows?");
  // The branch is the active one now, for every browser: a reload shows it too.
  await page.goto(new URL(page.url()).pathname);
  await expect(questions).toHaveCount(2);
  await expect(questions.last()).toContainText("And how deep are they?");
});

test("the sidebar search shows where each conversation matched", async ({ page }) => {
  await signUp(page);
  await sendAndWait(page, "Ideas for a <b>capybara</b> party & cake");
  const nav = page.getByRole("navigation", { name: "Conversations" });
  await page.getByRole("searchbox", { name: "Search conversations" }).fill("capyb");
  const snippet = nav.locator(".conversation-snippet").first();
  await expect(snippet.locator("mark").first()).toHaveText(/^capybara$/i);
  // The markup in the message is shown as text, never rendered.
  await expect(snippet).toContainText("<b>");
  await expect(nav.locator(".conversation-snippet b")).toHaveCount(0);
  await screenshot(page, "sidebar-search-snippet");
  await snippet.click();
  await expect(page.locator("article.message.highlighted")).toBeInViewport();
});
