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
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string) => {
      const body = url.endsWith("/api/models") ? MODELS : url.endsWith("/api/presets") ? PRESETS : {};
      return new Response(JSON.stringify(body), { headers: { "Content-Type": "application/json" } });
    }),
  );
}

function Harness({ onChange }: { onChange: (settings: ChatSettings) => void }) {
  const [settings, setSettings] = useState<ChatSettings>(DEFAULT_SETTINGS);
  return (
    <QueryClientProvider client={new QueryClient()}>
      <ChatSettingsBar
        t={i18n.t}
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
});
