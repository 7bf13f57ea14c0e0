import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ReactNode } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { useHealth } from "../../auth";
import { SettingsDialog } from "../../settings/components/SettingsDialog";
import { ShareButton } from "./ShareDialog";

const SHARE_ID = "AbCdEfGhIjKlMnOpQrStUv";
const HEALTH = { status: "ok", database: "ok", llm_provider: "fake", llm_model: "fake", allow_signup: true, warnings: [] };

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function wrap(ui: ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(<QueryClientProvider client={client}>{ui}</QueryClientProvider>);
}

/** A server with one conversation (id 3): its link is created, refreshed and revoked through fetch. */
function fakeServer(flags: { allow_sharing: boolean; allow_api_keys: boolean }) {
  let share: Record<string, unknown> | null = null;
  let snapshots = 0;
  const calls: string[] = [];
  const fetchMock = vi.fn(async (url: string, init?: RequestInit) => {
    const method = init?.method ?? "GET";
    calls.push(`${method} ${url}`);
    if (url.endsWith("/api/health")) return json({ ...HEALTH, ...flags });
    if (url.endsWith("/api/conversations/3/share") && method === "POST") {
      snapshots += 1;
      const time = `2026-12-0${snapshots}T10:00:00Z`;
      share = { share_id: SHARE_ID, url: `http://x/s/${SHARE_ID}`, created_at: "2026-12-01T10:00:00Z", updated_at: time };
      return json(share, 201);
    }
    if (url.endsWith("/api/shares")) return json(share ? [{ ...share, conversation_id: 3, title: "Trip" }] : []);
    if (url.endsWith(`/api/shares/${SHARE_ID}`) && method === "DELETE") {
      share = null;
      return new Response(null, { status: 204 });
    }
    if (url.endsWith("/api/keys")) return json([]);
    if (url.endsWith("/api/me/preferences")) return json({});
    return json({ detail: "Not Found" }, 404);
  });
  vi.stubGlobal("fetch", fetchMock);
  return calls;
}

/** Shows once the health answer is in: what is hidden after that is hidden because of it. */
function HealthLoaded() {
  const health = useHealth();
  return health.data ? <p>health loaded</p> : null;
}

afterEach(() => vi.unstubAllGlobals());

describe("ShareButton", () => {
  it("is not there when the server turned sharing off", async () => {
    fakeServer({ allow_sharing: false, allow_api_keys: true });
    wrap(
      <>
        <HealthLoaded />
        <ShareButton conversationId={3} />
      </>,
    );
    expect(await screen.findByText("health loaded")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Share this conversation" })).not.toBeInTheDocument();
  });

  it("creates a link, refreshes its snapshot under the same link and revokes it", async () => {
    const calls = fakeServer({ allow_sharing: true, allow_api_keys: true });
    const user = userEvent.setup();
    wrap(<ShareButton conversationId={3} />);

    await user.click(await screen.findByRole("button", { name: "Share this conversation" }));
    const dialog = screen.getByRole("dialog", { name: "Share by link" });
    await user.click(await within(dialog).findByRole("button", { name: "Create link" }));
    const link = await within(dialog).findByRole("textbox", { name: "Link" });
    expect(link).toHaveValue(`${window.location.origin}/s/${SHARE_ID}`);
    await user.click(within(dialog).getByRole("button", { name: "Copy link" }));
    expect(await navigator.clipboard.readText()).toBe(`${window.location.origin}/s/${SHARE_ID}`); // user-event's clipboard
    const firstSnapshot = within(dialog).getByText(/^Snapshot taken/).textContent;

    await user.click(within(dialog).getByRole("button", { name: "Refresh snapshot" }));
    await waitFor(() => expect(within(dialog).getByText(/^Snapshot taken/).textContent).not.toBe(firstSnapshot));
    expect(within(dialog).getByRole("textbox", { name: "Link" })).toHaveValue(`${window.location.origin}/s/${SHARE_ID}`);
    expect(calls.filter((call) => call === "POST /api/conversations/3/share")).toHaveLength(2);

    await user.click(within(dialog).getByRole("button", { name: "Revoke" }));
    expect(await within(dialog).findByRole("button", { name: "Create link" })).toBeInTheDocument();
    expect(within(dialog).queryByRole("textbox", { name: "Link" })).not.toBeInTheDocument();
    expect(calls).toContain(`DELETE /api/shares/${SHARE_ID}`);
  }, 15_000); // a dozen round trips through react-query: slow on a busy machine
});

describe("SettingsDialog", () => {
  it("has the Shared links and API keys sections only when the server allows them", async () => {
    fakeServer({ allow_sharing: false, allow_api_keys: false });
    const off = wrap(
      <>
        <HealthLoaded />
        <SettingsDialog open onClose={() => {}} />
      </>,
    );
    expect(await screen.findByText("health loaded")).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Settings" })).toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "Shared links" })).not.toBeInTheDocument();
    expect(screen.queryByRole("heading", { name: "API keys" })).not.toBeInTheDocument();
    off.unmount();

    fakeServer({ allow_sharing: true, allow_api_keys: true });
    wrap(<SettingsDialog open onClose={() => {}} />);
    expect(await screen.findByRole("heading", { name: "Shared links" })).toBeInTheDocument();
    expect(await screen.findByRole("heading", { name: "API keys" })).toBeInTheDocument();
  });
});
