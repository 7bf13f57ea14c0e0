import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";
import { Composer } from "./Composer";

function Harness({ streaming = false, onSend = vi.fn(), onStop = vi.fn() }) {
  const [value, setValue] = useState("");
  return <Composer value={value} onChange={setValue} onSend={() => onSend(value)} onStop={onStop} streaming={streaming} />;
}

describe("Composer", () => {
  it("sends on Enter", async () => {
    const onSend = vi.fn();
    render(<Harness onSend={onSend} />);
    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "Hello{Enter}");
    expect(onSend).toHaveBeenCalledWith("Hello");
  });

  it("adds a new line on Shift+Enter instead of sending", async () => {
    const onSend = vi.fn();
    render(<Harness onSend={onSend} />);
    const box = screen.getByRole("textbox", { name: "Message" });
    await userEvent.type(box, "one{Shift>}{Enter}{/Shift}two");
    expect(onSend).not.toHaveBeenCalled();
    expect(box).toHaveValue("one\ntwo");
  });

  it("does not send blank text", async () => {
    const onSend = vi.fn();
    render(<Harness onSend={onSend} />);
    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "   {Enter}");
    expect(onSend).not.toHaveBeenCalled();
    expect(screen.getByRole("button", { name: "Send" })).toBeDisabled();
  });

  it("sends with the button", async () => {
    const onSend = vi.fn();
    render(<Harness onSend={onSend} />);
    await userEvent.type(screen.getByRole("textbox", { name: "Message" }), "Hi");
    await userEvent.click(screen.getByRole("button", { name: "Send" }));
    expect(onSend).toHaveBeenCalledWith("Hi");
  });

  it("is disabled while a reply streams and offers Stop", async () => {
    const onSend = vi.fn();
    const onStop = vi.fn();
    render(
      <Composer value="draft" onChange={() => undefined} onSend={onSend} onStop={onStop} streaming />,
    );
    const box = screen.getByRole("textbox", { name: "Message" });
    expect(box).toHaveAttribute("aria-disabled", "true");
    expect(box).toHaveAttribute("readonly");
    await userEvent.type(box, "{Enter}");
    expect(onSend).not.toHaveBeenCalled();
    expect(screen.queryByRole("button", { name: "Send" })).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Stop" }));
    expect(onStop).toHaveBeenCalled();
  });
});
