import { useEffect, useId, useRef, useState } from "react";
import type { TFunction } from "i18next";
import type { ModelCapabilities, ModelInfo } from "../types";

const CAPABILITIES: (keyof ModelCapabilities)[] = ["vision", "web_search", "thinking"];

export function CapabilityBadges({ t, capabilities }: { t: TFunction; capabilities: ModelCapabilities }) {
  return (
    <span className="capability-badges">
      {CAPABILITIES.filter((name) => capabilities[name]).map((name) => (
        <span key={name} className={`badge badge-${name}`}>
          {t(`chatSettings.capabilities.${name}`)}
        </span>
      ))}
    </span>
  );
}

/** A model's name for the person: the server's label, except the embedded model's, which is worded
 * here so that it reads in the person's language (the server's says "(on this server)" in English). */
export function modelLabel(t: TFunction, model: ModelInfo): string {
  return model.provider === "local" ? t("chatSettings.localModel", { name: model.id }) : model.label;
}

interface ModelPickerProps {
  t: TFunction;
  models: ModelInfo[];
  /** The model shown as chosen (the conversation's, or the default one). */
  selected: ModelInfo | undefined;
  onSelect: (model: ModelInfo) => void;
  disabled?: boolean;
}

/** A button naming the chosen model; its list shows what each model can do. */
export function ModelPicker({ t, models, selected, onSelect, disabled = false }: ModelPickerProps) {
  const [open, setOpen] = useState(false);
  const listId = useId();
  const root = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") setOpen(false);
    };
    const onClick = (event: MouseEvent) => {
      if (!root.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener("keydown", onKey);
    document.addEventListener("mousedown", onClick);
    return () => {
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("mousedown", onClick);
    };
  }, [open]);

  return (
    <div className="model-picker" ref={root}>
      <button
        type="button"
        className="button small"
        aria-haspopup="listbox"
        aria-expanded={open}
        aria-controls={open ? listId : undefined}
        aria-label={t("chatSettings.model", { model: selected ? modelLabel(t, selected) : "" })}
        disabled={disabled}
        onClick={() => setOpen((value) => !value)}
      >
        {selected ? modelLabel(t, selected) : t("chatSettings.defaultModel")}
      </button>
      {open && (
        <ul id={listId} role="listbox" className="model-list" aria-label={t("chatSettings.models")}>
          {models.map((model) => (
            <li
              key={model.id}
              role="option"
              aria-selected={model.id === selected?.id}
              tabIndex={0}
              className="model-option"
              onClick={() => {
                onSelect(model);
                setOpen(false);
              }}
              onKeyDown={(event) => {
                if (event.key === "Enter" || event.key === " ") {
                  event.preventDefault();
                  onSelect(model);
                  setOpen(false);
                }
              }}
            >
              <span className="model-label">{modelLabel(t, model)}</span>
              <CapabilityBadges t={t} capabilities={model.capabilities} />
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
