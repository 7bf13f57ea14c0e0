import { useLayoutEffect, useRef, type FormEvent, type KeyboardEvent } from "react";
import { useTranslation } from "react-i18next";
import { SendIcon, StopIcon } from "../../../components/icons";

interface ComposerProps {
  value: string;
  onChange: (value: string) => void;
  onSend: () => void;
  onStop: () => void;
  streaming: boolean;
}

const MAX_HEIGHT_PX = 200;

/** Enter sends, Shift+Enter starts a new line; sending is off while a reply streams. */
export function Composer({ value, onChange, onSend, onStop, streaming }: ComposerProps) {
  const { t } = useTranslation();
  const textarea = useRef<HTMLTextAreaElement>(null);
  const canSend = !streaming && value.trim() !== "";

  useLayoutEffect(() => {
    const element = textarea.current;
    if (!element) return;
    element.style.height = "auto";
    element.style.height = `${Math.min(element.scrollHeight, MAX_HEIGHT_PX)}px`;
  }, [value]);

  function submit(event?: FormEvent) {
    event?.preventDefault();
    if (canSend) onSend();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  }

  return (
    <form className="composer" onSubmit={submit}>
      <label htmlFor="composer-input" className="visually-hidden">
        {t("chat.composerLabel")}
      </label>
      <textarea
        id="composer-input"
        ref={textarea}
        rows={1}
        value={value}
        placeholder={t("chat.composerPlaceholder")}
        aria-describedby="composer-hint"
        readOnly={streaming}
        aria-disabled={streaming}
        onChange={(event) => onChange(event.target.value)}
        onKeyDown={onKeyDown}
        autoFocus
      />
      <span id="composer-hint" className="visually-hidden">
        {t("chat.composerHint")}
      </span>
      {streaming ? (
        <button type="button" className="icon-button stop" onClick={onStop} aria-label={t("chat.stop")} title={t("chat.stop")}>
          <StopIcon />
        </button>
      ) : (
        <button type="submit" className="icon-button send" disabled={!canSend} aria-label={t("chat.send")} title={t("chat.send")}>
          <SendIcon />
        </button>
      )}
    </form>
  );
}
