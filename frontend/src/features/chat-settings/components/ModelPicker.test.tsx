import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { ModelInfo } from "../types";
import i18n from "../../../lib/i18n";
import { ModelPicker } from "./ModelPicker";

const MODELS: ModelInfo[] = [
  {
    id: "gemini-2.5-flash",
    provider: "gemini",
    label: "Gemini 2.5 Flash",
    capabilities: { vision: true, web_search: true, thinking: true },
    default: true,
  },
  {
    id: "fake",
    provider: "fake",
    label: "Fake (development)",
    capabilities: { vision: false, web_search: false, thinking: false },
    default: false,
  },
];

describe("ModelPicker", () => {
  it("names the chosen model and lists every model with what it can do", async () => {
    const onSelect = vi.fn();
    render(<ModelPicker t={i18n.t} models={MODELS} selected={MODELS[0]} onSelect={onSelect} />);
    const button = screen.getByRole("button", { name: "Model: Gemini 2.5 Flash" });
    await userEvent.click(button);
    const options = screen.getAllByRole("option");
    expect(options).toHaveLength(2);
    expect(options[0]).toHaveAttribute("aria-selected", "true");
    const first = options[0] as HTMLElement;
    expect(within(first).getByText("Vision")).toBeInTheDocument();
    expect(within(first).getByText("Web")).toBeInTheDocument();
    expect(within(first).getByText("Thinking")).toBeInTheDocument();
    expect(within(options[1] as HTMLElement).queryByText("Web")).toBeNull();
    await userEvent.click(options[1] as HTMLElement);
    expect(onSelect).toHaveBeenCalledWith(MODELS[1]);
    expect(screen.queryByRole("listbox")).toBeNull();
  });

  it("names the embedded model in the person's language", async () => {
    const local: ModelInfo = {
      id: "SmolLM2-135M-Instruct.Q4_1.gguf",
      provider: "local",
      label: "SmolLM2-135M-Instruct.Q4_1.gguf (on this server)",
      capabilities: { vision: false, web_search: false, thinking: false },
      default: true,
    };
    await i18n.changeLanguage("pt-BR");
    try {
      render(<ModelPicker t={i18n.t} models={[local]} selected={local} onSelect={() => undefined} />);
      expect(screen.getByRole("button")).toHaveTextContent("SmolLM2-135M-Instruct.Q4_1.gguf (neste servidor)");
    } finally {
      await i18n.changeLanguage("en");
    }
  });

  it("closes on Escape", async () => {
    render(<ModelPicker t={i18n.t} models={MODELS} selected={MODELS[0]} onSelect={() => undefined} />);
    await userEvent.click(screen.getByRole("button"));
    expect(screen.getByRole("listbox")).toBeInTheDocument();
    await userEvent.keyboard("{Escape}");
    expect(screen.queryByRole("listbox")).toBeNull();
  });
});
