import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_SETTINGS, type ChatSettings, type ModelInfo, type Preset } from "../types";
import i18n from "../../../lib/i18n";
import ChatSettingsBar from "./ChatSettingsBar";

const MODELS: ModelInfo[] = [
  {
    id: "fake",
    provider: "fake",
    label: "Fake (development)",
    capabilities: { vision: false, web_search: false, thinking: false },
    default: true,
  },
  {
    id: "gemini-2.5-pro",
    provider: "gemini",
    label: "Gemini 2.5 Pro",
    capabilities: { vision: true, web_search: true, thinking: true },
    default: false,
  },
];
const PRESETS: Preset[] = [
  {
    id: 3,
    name: "Pirata",
    system_prompt: "Fale como pirata.",
    model: "gemini-2.5-pro",
    temperature: 1.5,
    web_search: true,
    thinking: null,
    shared: false,
    mine: true,
  },
];

function mockBackend() {
  const calls: { method: string; url: string; body: unknown }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init?: RequestInit) => {
      calls.push({ method: init?.method ?? "GET", url, body: init?.body ? JSON.parse(String(init.body)) : null });
      if (init?.method === "DELETE") return new Response(null, { status: 204 });
      const body = url.endsWith("/api/models") ? MODELS : url.endsWith("/api/presets") ? PRESETS : {};
      return new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } });
    }),
  );
  return calls;
}

function Harness({ onChange }: { onChange: (settings: ChatSettings) => void }) {
  const [settings, setSettings] = useState<ChatSettings>(DEFAULT_SETTINGS);
  return (
    <QueryClientProvider client={new QueryClient()}>
      <ChatSettingsBar
        t={i18n.t}
        canShare
        settings={settings}
        onChange={(next) => {
          setSettings(next);
          onChange(next);
        }}
      />
    </QueryClientProvider>
  );
}

afterEach(() => vi.unstubAllGlobals());

describe("ChatSettingsBar", () => {
  it("turns web search off for a model without it, and on for one that has it", async () => {
    mockBackend();
    const onChange = vi.fn();
    render(<Harness onChange={onChange} />);
    const picker = await screen.findByRole("button", { name: "Model: Fake (development)" });
    const globe = screen.getByRole("button", { name: "Search the web" });
    expect(globe).toBeDisabled(); // the default (fake) model cannot search
    await userEvent.click(picker);
    await userEvent.click(screen.getByRole("option", { name: /Gemini 2.5 Pro/ }));
    expect(onChange).toHaveBeenLastCalledWith({ ...DEFAULT_SETTINGS, model: "gemini-2.5-pro" });
    expect(globe).toBeEnabled();
    await userEvent.click(globe);
    expect(globe).toHaveAttribute("aria-pressed", "true");
    expect(onChange).toHaveBeenLastCalledWith({ ...DEFAULT_SETTINGS, model: "gemini-2.5-pro", web_search: true });
  });

  it("copies a persona's settings, and edits the system prompt and temperature in the panel", async () => {
    mockBackend();
    const onChange = vi.fn();
    render(<Harness onChange={onChange} />);
    await screen.findByRole("option", { name: "Pirata" });
    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Persona" }), "Pirata");
    expect(onChange).toHaveBeenLastCalledWith({
      model: "gemini-2.5-pro",
      system_prompt: "Fale como pirata.",
      temperature: 1.5,
      web_search: true,
      thinking: false,
    });
    await userEvent.click(screen.getByRole("button", { name: "System prompt and temperature" }));
    const prompt = await screen.findByRole("textbox", { name: "System prompt" });
    expect(prompt).toHaveValue("Fale como pirata.");
    expect(prompt).toHaveAttribute("maxLength", "8000");
    await userEvent.clear(prompt);
    await userEvent.type(prompt, "Seja breve.");
    await userEvent.click(screen.getByRole("checkbox", { name: "Model default" }));
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(onChange).toHaveBeenLastCalledWith(
      expect.objectContaining({ system_prompt: "Seja breve.", temperature: null, model: "gemini-2.5-pro" }),
    );
  });

  it("lets an administrator share a new persona, and deletes one's own", async () => {
    const calls = mockBackend();
    render(<Harness onChange={() => undefined} />);
    await userEvent.click(await screen.findByRole("button", { name: "System prompt and temperature" }));
    await userEvent.type(await screen.findByRole("textbox", { name: "System prompt" }), "Revise o texto.");
    await userEvent.type(screen.getByRole("textbox", { name: "Save as persona named" }), "Revisor");
    await userEvent.click(screen.getByRole("checkbox", { name: "Share with every user" }));
    await userEvent.click(screen.getByRole("button", { name: "Save persona" }));
    await screen.findByText("Persona saved.");
    expect(calls.find((call) => call.method === "POST")).toMatchObject({
      url: "/api/presets",
      body: { name: "Revisor", system_prompt: "Revise o texto.", shared: true },
    });
    await userEvent.click(screen.getByRole("button", { name: "Delete persona “Pirata”" }));
    await vi.waitFor(() => expect(calls.some((call) => call.method === "DELETE" && call.url === "/api/presets/3")).toBe(true));
  });
});
