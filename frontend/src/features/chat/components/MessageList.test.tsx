import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { PENDING_ASSISTANT_ID } from "../chat-state";
import { message } from "../test-messages";
import type { Message } from "../types";
import { LEAVE_LATER_CHARS, leavingViews, MessageList } from "./MessageList";

const messages = [message(5, "user", "Hi")];

function renderList(props: { loadingOlder?: boolean; loadOlderFailed?: boolean; onLoadOlder?: () => void }) {
  render(
    <MessageList
      messages={messages}
      keys={{ exchange: 0, keys: {} }}
      streaming={false}
      hasMore
      loadingOlder={props.loadingOlder ?? false}
      loadOlderFailed={props.loadOlderFailed ?? false}
      onLoadOlder={props.onLoadOlder ?? vi.fn()}
      onRegenerate={vi.fn()}
      onEdit={vi.fn(() => true)}
      onSwitch={vi.fn()}
    />,
  );
}

describe("MessageList, loading earlier messages", () => {
  it("cannot be asked twice while a page loads", () => {
    renderList({ loadingOlder: true });
    expect(screen.getByRole("button", { name: "Load earlier messages" })).toBeDisabled();
  });

  it("says when earlier messages failed to load and can try again", async () => {
    const onLoadOlder = vi.fn();
    renderList({ loadOlderFailed: true, onLoadOlder });
    expect(screen.getByRole("alert")).toHaveTextContent("Earlier messages could not be loaded.");
    await userEvent.click(screen.getByRole("button", { name: "Load earlier messages" }));
    expect(onLoadOlder).toHaveBeenCalledOnce();
  });
});

describe("MessageList, a message leaving", () => {
  const question = message(1, "user", "Explain");
  const longReply = message(2, "assistant", `${"A long answer. ".repeat(LEAVE_LATER_CHARS / 10)}`);
  const pending = { ...message(PENDING_ASSISTANT_ID, "assistant", ""), parent_id: 1 };

  function list(shown: Message[]) {
    return (
      <MessageList
        messages={shown}
        keys={{ exchange: 1, keys: {} }}
        streaming
        hasMore={false}
        loadingOlder={false}
        loadOlderFailed={false}
        onLoadOlder={vi.fn()}
        onRegenerate={vi.fn()}
        onEdit={vi.fn(() => true)}
        onSwitch={vi.fn()}
      />
    );
  }

  it("hides a long reply answered again at once and removes it once the browser is idle", async () => {
    const { container, rerender } = render(list([question, longReply]));
    const old = container.querySelector('article[data-message-id="2"]');
    rerender(list([question, pending]));
    // The same element, hidden and out of the accessibility tree, before the new reply.
    expect(container.querySelector('article[data-message-id="2"]')).toBe(old);
    expect(old).not.toBeVisible();
    expect(screen.getAllByRole("article").map((article) => article.dataset.messageId)).toEqual(["1", String(PENDING_ASSISTANT_ID)]);
    expect([...container.querySelectorAll("article")].map((article) => article.dataset.messageId)).toEqual([
      "1",
      "2",
      String(PENDING_ASSISTANT_ID),
    ]);
    await waitFor(() => expect(container.querySelector('article[data-message-id="2"]')).toBeNull());
  });

  it("removes a short message at once", () => {
    const shortReply = message(2, "assistant", "Short.");
    const { container, rerender } = render(list([question, shortReply]));
    rerender(list([question, pending]));
    expect(container.querySelector('article[data-message-id="2"]')).toBeNull();
  });

  it("finds the long messages gone from the end, after the last view kept", () => {
    const view = (key: string, content = "x") => ({ key, message: message(Number(key), "assistant", content) });
    const long = "y".repeat(LEAVE_LATER_CHARS);
    expect(leavingViews([view("1"), view("2", long), view("3")], [view("1"), view("4")])).toEqual({
      leaving: [view("2", long)],
      afterKey: "1",
    });
    // Older messages put in front: nothing left.
    expect(leavingViews([view("2", long)], [view("1"), view("2", long)]).leaving).toEqual([]);
    expect(leavingViews([view("2", long)], [view("5")])).toEqual({ leaving: [view("2", long)], afterKey: null });
  });
});
