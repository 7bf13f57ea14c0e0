import { expect, test, type Locator, type Page } from "@playwright/test";
import { assistantMessages, composer, lastSavedMessage, logIn, PASSWORD, sendAndWait, signUp, SLOW, userMessages } from "./helpers";

interface ApiMessage {
  id: number;
  parent_id: number | null;
  role: "user" | "assistant";
  content: string;
}

/** Calls the API as the person logged in on `page` (the token the app keeps in localStorage). */
async function api<T>(page: Page, method: string, path: string, body?: unknown): Promise<T> {
  return page.evaluate(
    async ({ method, path, body }) => {
      const response = await fetch(path, {
        method,
        headers: {
          Authorization: `Bearer ${localStorage.getItem("conversa.token") ?? ""}`,
          "Content-Type": "application/json",
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    },
    { method, path, body },
  ) as Promise<T>;
}

function conversationIdOf(page: Page): number {
  return Number(new URL(page.url()).pathname.split("/").pop());
}

function stopButton(page: Page) {
  return page.getByRole("button", { name: "Stop", exact: true });
}

async function waitForReply(page: Page): Promise<void> {
  await expect(stopButton(page)).toHaveCount(0, { timeout: 20_000 });
}

/** Opens the editor of `message`, writes `text` and sends it with Enter. */
async function editWith(page: Page, message: Locator, text: string): Promise<void> {
  await message.getByRole("button", { name: "Edit and resend" }).click();
  const editor = page.getByRole("textbox", { name: "Edit your message" });
  await editor.fill(text);
  await editor.press("Enter");
}

function versions(message: Locator, current: number, total: number): Locator {
  return message.getByRole("group", { name: `Version ${current} of ${total}` });
}

async function shownIds(page: Page): Promise<number[]> {
  return page
    .locator("article[data-message-id]")
    .evaluateAll((articles) => articles.map((article) => Number((article as HTMLElement).dataset.messageId)));
}

test("edit the last, a middle and the first question: each is a new version, kept after a reload", async ({ page }) => {
  await signUp(page);
  await sendAndWait(page, "Question one");
  await sendAndWait(page, "Question two");
  await sendAndWait(page, "Question three");

  // The last question, edited in place: Enter sends, the new reply streams, the original is version 1.
  await editWith(page, userMessages(page).nth(2), "Question three, edited");
  await waitForReply(page);
  await expect(userMessages(page)).toHaveCount(3);
  await expect(userMessages(page).nth(2)).toContainText("Question three, edited");
  await expect(assistantMessages(page).nth(2)).toContainText("You said: Question three, edited");
  await expect(versions(userMessages(page).nth(2), 2, 2)).toBeVisible();

  // Escape cancels an edit and changes nothing.
  await userMessages(page).nth(1).getByRole("button", { name: "Edit and resend" }).click();
  await page.getByRole("textbox", { name: "Edit your message" }).fill("Never sent");
  await page.getByRole("textbox", { name: "Edit your message" }).press("Escape");
  await expect(page.getByRole("textbox", { name: "Edit your message" })).toHaveCount(0);
  await expect(userMessages(page).nth(1)).toContainText("Question two");

  // A middle question: what came after it belongs to the old version.
  await editWith(page, userMessages(page).nth(1), "Question two, edited");
  await waitForReply(page);
  await expect(userMessages(page)).toHaveCount(2);
  await expect(userMessages(page).nth(1)).toContainText("Question two, edited");
  await expect(versions(userMessages(page).nth(1), 2, 2)).toBeVisible();

  // The first question: a new first message.
  await editWith(page, userMessages(page).first(), "Question one, edited");
  await waitForReply(page);
  await expect(userMessages(page)).toHaveCount(1);
  await expect(assistantMessages(page).first()).toContainText("You said: Question one, edited");
  await expect(versions(userMessages(page).first(), 2, 2)).toBeVisible();

  await page.reload();
  await expect(userMessages(page)).toHaveCount(1);
  await expect(userMessages(page).first()).toContainText("Question one, edited");

  // Back to the original first question: its newest branch (with the edited middle) comes back.
  await userMessages(page).first().getByRole("button", { name: "Previous version" }).click();
  await expect(userMessages(page)).toHaveCount(2);
  await expect(userMessages(page).first()).toContainText("Question one");
  await expect(userMessages(page).nth(1)).toContainText("Question two, edited");
  await expect(versions(userMessages(page).first(), 1, 2)).toBeVisible();
  // And the original middle question, with the last question's two versions below it.
  await userMessages(page).nth(1).getByRole("button", { name: "Previous version" }).click();
  await expect(userMessages(page)).toHaveCount(3);
  await expect(userMessages(page).nth(1)).toContainText("Question two");
  await expect(userMessages(page).nth(2)).toContainText("Question three, edited");
  await userMessages(page).nth(2).getByRole("button", { name: "Previous version" }).click();
  await expect(versions(userMessages(page).nth(2), 1, 2)).toBeVisible();
  await expect(userMessages(page).nth(2).locator(".plain-text")).toHaveText("Question three");

  // The branch chosen is the server's: a reload shows it again.
  await page.reload();
  await expect(userMessages(page)).toHaveCount(3);
  await expect(versions(userMessages(page).nth(1), 1, 2)).toBeVisible();
  await expect(versions(userMessages(page).nth(2), 1, 2)).toBeVisible();
  await expect(userMessages(page).nth(2)).not.toContainText("edited");
  await expect(assistantMessages(page).nth(2)).toContainText("You said: Question three");
});

test("regenerate an old reply, switch back, and the same branch shows after a reload, a new login and in another browser", async ({
  page,
  browser,
}) => {
  const email = await signUp(page);
  await sendAndWait(page, "Old question");
  await sendAndWait(page, "Newer question");
  const firstReply = await assistantMessages(page).first().getAttribute("data-message-id");

  await assistantMessages(page).first().getByRole("button", { name: "Regenerate reply" }).click();
  await waitForReply(page);
  // The new reply is version 2 of the old question's answers; the exchange after it stays with version 1.
  await expect(userMessages(page)).toHaveCount(1);
  await expect(assistantMessages(page)).toHaveCount(1);
  await expect(versions(assistantMessages(page).first(), 2, 2)).toBeVisible();
  await expect(assistantMessages(page).first()).not.toHaveAttribute("data-message-id", firstReply ?? "");

  // A follow-up goes under the new reply.
  await sendAndWait(page, "Follow-up on the new reply");
  await assistantMessages(page).first().getByRole("button", { name: "Previous version" }).click();
  await expect(assistantMessages(page).first()).toHaveAttribute("data-message-id", firstReply ?? "");
  await expect(userMessages(page).nth(1)).toContainText("Newer question");
  await expect(versions(assistantMessages(page).first(), 1, 2)).toBeVisible();

  // Keyboard: Next version, pressed with Enter, switches and keeps the focus on the switcher.
  await assistantMessages(page).first().getByRole("button", { name: "Next version" }).focus();
  await page.keyboard.press("Enter");
  await expect(userMessages(page).nth(1)).toContainText("Follow-up on the new reply");
  // At the last version Next is disabled: the focus moved to Previous.
  await expect(assistantMessages(page).first().getByRole("button", { name: "Previous version" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(userMessages(page).nth(1)).toContainText("Newer question");
  await expect(assistantMessages(page).first().getByRole("button", { name: "Next version" })).toBeFocused();
  const conversationUrl = page.url();

  const expectOriginalBranch = async (where: Page) => {
    await expect(userMessages(where)).toHaveCount(2);
    await expect(userMessages(where).nth(1)).toContainText("Newer question");
    await expect(assistantMessages(where).first()).toHaveAttribute("data-message-id", firstReply ?? "");
    await expect(versions(assistantMessages(where).first(), 1, 2)).toBeVisible();
  };
  await page.reload();
  await expectOriginalBranch(page);

  await page.getByRole("button", { name: "Log out" }).click();
  await logIn(page, email, PASSWORD);
  await expect(composer(page)).toBeVisible();
  await page.goto(conversationUrl);
  await expectOriginalBranch(page);

  const other = await browser.newContext();
  try {
    const otherPage = await other.newPage();
    await logIn(otherPage, email, PASSWORD);
    await expect(composer(otherPage)).toBeVisible();
    await otherPage.goto(conversationUrl);
    await expectOriginalBranch(otherPage);
  } finally {
    await other.close();
  }
});

test("Stop keeps the partial reply of an edit in its branch", async ({ page }) => {
  await signUp(page);
  await sendAndWait(page, "Answer this fully");
  await editWith(page, userMessages(page).first(), `Answer this, then stop ${SLOW}`);
  await expect(assistantMessages(page).first()).toContainText("You said:");
  await stopButton(page).click();
  await expect(stopButton(page)).toHaveCount(0);
  await expect(assistantMessages(page).first()).toContainText("Incomplete reply");
  await expect(versions(userMessages(page).first(), 2, 2)).toBeVisible();

  await expect.poll(() => lastSavedMessage(page, conversationIdOf(page))).toBe("assistant incomplete");
  await page.reload();
  await expect(userMessages(page).first()).toContainText("Answer this, then stop");
  await expect(assistantMessages(page).first()).toContainText("Incomplete reply");
  await userMessages(page).first().getByRole("button", { name: "Previous version" }).click();
  await expect(assistantMessages(page).first()).toContainText("And a bit of code.");
  await expect(assistantMessages(page).first()).not.toContainText("Incomplete reply");
});

test("a 60-node tree with 12 branches shows every node when its branches are walked", async ({ page }) => {
  test.setTimeout(150_000);
  await signUp(page);
  type Turn = { conversation_id: number; user_message: ApiMessage; assistant_message: ApiMessage };
  const nodes = new Map<number, ApiMessage>();
  const chat = async (body: object) => {
    const turn = await api<Turn>(page, "POST", "/api/chat", body);
    nodes.set(turn.user_message.id, turn.user_message);
    nodes.set(turn.assistant_message.id, turn.assistant_message);
    return turn;
  };

  // A trunk of 5 exchanges (10 nodes, 1 branch)...
  const first = await chat({ message: "Trunk 0" });
  const conversationId = first.conversation_id;
  const trunk = [first];
  for (let index = 1; index < 5; index++) {
    const parent = trunk[index - 1]!.assistant_message.id;
    trunk.push(await chat({ conversation_id: conversationId, message: `Trunk ${index}`, parent_id: parent }));
  }
  // ...and 11 more branches, each an edit of a trunk question followed by 1 or 2 more exchanges
  // (8 x 4 + 3 x 6 = 50 nodes), one turn after the other (a conversation writes one reply at a time).
  for (let branch = 0; branch < 11; branch++) {
    const at = branch % 5;
    let parent: number | null = at === 0 ? null : trunk[at - 1]!.assistant_message.id;
    const exchanges = branch < 8 ? 2 : 3;
    for (let step = 0; step < exchanges; step++) {
      const message = `Branch ${branch} step ${step}`;
      const turn = await chat({ conversation_id: conversationId, message, parent_id: parent });
      parent = turn.assistant_message.id;
    }
  }
  expect(nodes.size).toBe(60);
  const hasChild = new Set([...nodes.values()].map((node) => node.parent_id));
  const leaves = [...nodes.keys()].filter((id) => !hasChild.has(id));
  expect(leaves).toHaveLength(12);
  const pathTo = (leaf: number) => {
    const path: number[] = [];
    for (let id: number | null = leaf; id !== null; id = nodes.get(id)!.parent_id) path.unshift(id);
    return path;
  };

  // Walk every branch: make its leaf the active one, open the conversation, see its whole path.
  const seen = new Set<number>();
  for (const leaf of leaves) {
    await api(page, "PUT", `/api/conversations/${conversationId}/active`, { message_id: leaf });
    await page.goto(`/c/${conversationId}`);
    await expect(page.locator(`article[data-message-id="${leaf}"]`)).toBeVisible();
    expect(await shownIds(page)).toEqual(pathTo(leaf));
    for (const id of pathTo(leaf)) seen.add(id);
  }
  expect(seen.size).toBe(60);

  // And through the switchers: the first question's 4 versions, each with its branch below.
  await api(page, "PUT", `/api/conversations/${conversationId}/active`, { message_id: first.user_message.id });
  await page.goto(`/c/${conversationId}`);
  const roots = [...nodes.values()]
    .filter((node) => node.parent_id === null)
    .map((node) => node.id)
    .sort((a, b) => a - b);
  expect(roots).toHaveLength(4);
  for (let index = 0; index < roots.length; index++) {
    const root = userMessages(page).first();
    await expect(root).toHaveAttribute("data-message-id", String(roots[index]));
    await expect(versions(root, index + 1, roots.length)).toBeVisible();
    const ids = await shownIds(page);
    expect(pathTo(ids[ids.length - 1]!)).toEqual(ids); // a whole path, root to leaf
    if (index < roots.length - 1) await root.getByRole("button", { name: "Next version" }).click();
  }
});

test.describe("Portuguese browser", () => {
  test.use({ locale: "pt-BR" });

  test("the versions switcher speaks pt-BR", async ({ page }) => {
    await signUp(page);
    await sendAndWait(page, "Olá");
    await assistantMessages(page).first().getByRole("button", { name: "Gerar resposta de novo" }).click();
    await expect(page.getByRole("button", { name: "Parar" })).toHaveCount(0, { timeout: 20_000 });
    const reply = assistantMessages(page).first();
    await expect(reply.getByRole("group", { name: "Versão 2 de 2" })).toBeVisible();
    await reply.getByRole("button", { name: "Versão anterior" }).click();
    await expect(reply.getByRole("group", { name: "Versão 1 de 2" })).toBeVisible();
    await expect(assistantMessages(page).first().getByRole("button", { name: "Próxima versão" })).toBeEnabled();
  });
});
