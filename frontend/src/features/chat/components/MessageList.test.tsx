import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { message } from "../test-messages";
import { MessageList } from "./MessageList";

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
