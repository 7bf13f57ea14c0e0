import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiKeysSection } from "./ApiKeysSection";

const KEY = "cv-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const ROW = { id: 7, name: "my editor", prefix: KEY.slice(0, 11), created_at: "2026-12-01T10:00:00Z", last_used_at: null };

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function renderSection() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <ApiKeysSection />
    </QueryClientProvider>,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe("ApiKeysSection", () => {
  it("shows a new key once, then only its prefix", async () => {
    let keys: unknown[] = [];
    const fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
      if (init?.method === "POST") {
        keys = [ROW];
        return json({ ...ROW, key: KEY }, 201);
      }
      return json(url.endsWith("/api/keys") ? keys : []);
    });
    vi.stubGlobal("fetch", fetchMock);
    const user = userEvent.setup();
    renderSection();

    expect(await screen.findByText("No API keys yet.")).toBeInTheDocument();
    await user.type(screen.getByLabelText("Key name"), "my editor");
    await user.click(screen.getByRole("button", { name: "Create key" }));

    expect(await screen.findByLabelText("Your new API key")).toHaveValue(KEY);
    expect(screen.getByText("Copy your key now: it will not be shown again.")).toBeInTheDocument();
    const [, init] = fetchMock.mock.calls.find(([, options]) => options?.method === "POST") ?? [];
    expect(JSON.parse(String(init?.body))).toEqual({ name: "my editor" });

    await user.click(screen.getByRole("button", { name: "Done" }));
    expect(screen.queryByLabelText("Your new API key")).not.toBeInTheDocument();
    expect(await screen.findByText(`${ROW.prefix}…`)).toBeInTheDocument();
    expect(document.body.textContent).not.toContain(KEY);
    expect(screen.getByText("Never used")).toBeInTheDocument();
  });
});
