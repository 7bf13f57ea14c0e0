import { act, fireEvent, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";
import i18n from "../../../lib/i18n";
import type { AttachmentChip, Attachments } from "../../uploads";
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

function attachmentsWith(chips: AttachmentChip[], overrides: Partial<Attachments> = {}): Attachments {
  return {
    chips,
    readyIds: chips.flatMap((chip) => (chip.upload ? [chip.upload.id] : [])),
    uploading: chips.some((chip) => chip.status === "uploading"),
    add: vi.fn(),
    remove: vi.fn(),
    clear: vi.fn(),
    ...overrides,
  };
}

const uploadingChip: AttachmentChip = {
  key: "a",
  name: "photo.png",
  size: 2048,
  mimeType: "image/png",
  status: "uploading",
  progress: 0.5,
};
const readyChip: AttachmentChip = {
  key: "b",
  name: "notes.txt",
  size: 12,
  mimeType: "text/plain",
  status: "ready",
  progress: 1,
  upload: { id: 7, name: "notes.txt", mime_type: "text/plain", size: 12, created_at: "2026-12-01T00:00:00Z" },
};

describe("Composer with attachments", () => {
  it("waits for uploads before sending, then sends the ready ids", async () => {
    const onSend = vi.fn();
    const { rerender } = render(
      <Composer value="see" onChange={() => undefined} onSend={onSend} onStop={vi.fn()} streaming={false}
        attachments={attachmentsWith([uploadingChip, readyChip])} />,
    );
    expect(screen.getByRole("button", { name: "Send" })).toBeDisabled();
    expect(screen.getByRole("progressbar", { name: "Uploading photo.png" })).toHaveValue(0.5);
    rerender(
      <Composer value="see" onChange={() => undefined} onSend={onSend} onStop={vi.fn()} streaming={false}
        attachments={attachmentsWith([readyChip])} />,
    );
    await userEvent.click(screen.getByRole("button", { name: "Send" }));
    expect(onSend).toHaveBeenCalledWith([7]);
  });

  it("attaches picked files and removes a chip", async () => {
    const attachments = attachmentsWith([readyChip]);
    render(<Composer value="" onChange={() => undefined} onSend={vi.fn()} onStop={vi.fn()} streaming={false} attachments={attachments} />);
    const picked = new File(["%PDF-1.4"], "a.pdf", { type: "application/pdf" });
    await userEvent.upload(screen.getByTestId("attach-input"), picked);
    expect(attachments.add).toHaveBeenCalledWith([picked]);
    await userEvent.click(screen.getByRole("button", { name: "Remove notes.txt" }));
    expect(attachments.remove).toHaveBeenCalledWith("b");
  });

  it("shows the error on the chip in the person's language", async () => {
    const tooBig: AttachmentChip = { ...uploadingChip, status: "error", error: "too_big" };
    const quota: AttachmentChip = { ...readyChip, key: "q", upload: undefined, status: "error", error: "quota" };
    const bomb: AttachmentChip = { ...uploadingChip, key: "p", status: "error", error: "too_many_pixels" };
    render(<Composer value="" onChange={() => undefined} onSend={vi.fn()} onStop={vi.fn()} streaming={false} attachments={attachmentsWith([tooBig, quota, bomb])} />);
    expect(screen.getAllByRole("alert").map((node) => node.textContent)).toEqual([
      "Too big (the limit is 10 MB)",
      "Your storage for files is full",
      "The image is too large (too many pixels)",
    ]);
    await act(() => i18n.changeLanguage("pt-BR"));
    expect(screen.getAllByRole("alert").map((node) => node.textContent)).toEqual([
      "Grande demais (o limite é 10 MB)",
      "Seu espaço para arquivos está cheio",
      "A imagem é grande demais (pixels demais)",
    ]);
    await act(() => i18n.changeLanguage("en"));
  });

  it("attaches an image pasted from the clipboard", () => {
    const attachments = attachmentsWith([]);
    render(<Composer value="" onChange={() => undefined} onSend={vi.fn()} onStop={vi.fn()} streaming={false} attachments={attachments} />);
    const image = new File(["png"], "image.png", { type: "image/png" });
    fireEvent.paste(screen.getByRole("textbox", { name: "Message" }), { clipboardData: { files: [image], types: ["Files"] } });
    expect(attachments.add).toHaveBeenCalledWith([image]);
  });
});
