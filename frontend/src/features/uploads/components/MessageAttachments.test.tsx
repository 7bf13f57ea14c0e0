import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import "../../../lib/i18n";
import { setToken } from "../../../lib/api-client";
import { MessageAttachments } from "./MessageAttachments";

const { createObjectURL, revokeObjectURL } = URL;

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  Object.assign(URL, { createObjectURL, revokeObjectURL });
});

function mockFetch() {
  const fetchMock = vi.fn(async (_url: string, _init?: RequestInit) => new Response("bytes", { status: 200 }));
  vi.stubGlobal("fetch", fetchMock);
  return fetchMock;
}

describe("MessageAttachments", () => {
  it("renders nothing without files", () => {
    const { container } = render(<MessageAttachments files={undefined} />);
    expect(container).toBeEmptyDOMElement();
  });

  it("shows an image as a thumbnail fetched with the token, and a file as a download chip", async () => {
    setToken("secret-token");
    const fetchMock = mockFetch();
    Object.assign(URL, { createObjectURL: vi.fn(() => "blob:thumb"), revokeObjectURL: vi.fn() });
    render(
      <MessageAttachments
        files={[
          { id: 1, name: "cat.png", mime_type: "image/png", size: 10 },
          { id: 2, name: "contract.pdf", mime_type: "application/pdf", size: 2048 },
        ]}
      />,
    );
    await waitFor(() => expect(screen.getByAltText("cat.png")).toHaveAttribute("src", "blob:thumb"));
    const [url, init] = fetchMock.mock.calls[0] ?? [];
    expect(url).toMatch(/\/api\/uploads\/1$/);
    expect(new Headers(init?.headers).get("Authorization")).toBe("Bearer secret-token");
    fireEvent.click(screen.getByRole("button", { name: "Open cat.png" }));
    expect(screen.getAllByAltText("cat.png")).toHaveLength(2); // the thumbnail and the full view in the dialog
    expect(screen.getByRole("heading", { name: "cat.png" })).toBeInTheDocument();
    const chip = screen.getByRole("button", { name: /contract\.pdf/ });
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(() => undefined);
    fireEvent.click(chip);
    await waitFor(() => expect(click).toHaveBeenCalled());
    expect(fetchMock.mock.calls.some(([called]) => String(called).endsWith("/api/uploads/2"))).toBe(true);
  });
});
