import { useLayoutEffect, useRef, type ClipboardEvent, type FormEvent, type KeyboardEvent } from "react";
import { useTranslation } from "react-i18next";
import { PaperclipIcon, SendIcon, StopIcon } from "../../../components/icons";
import { ACCEPT, AttachmentChips, pastedImages, type Attachments } from "../../uploads";

interface ComposerProps {
  value: string;
  onChange: (value: string) => void;
  /** Gets the ids of the attached files that are uploaded and ready. */
  onSend: (attachmentIds: number[]) => void;
  onStop: () => void;
  streaming: boolean;
  /** The files being attached; without it the composer has no Attach button. */
  attachments?: Attachments;
}

const MAX_HEIGHT_PX = 200;

/** Enter sends, Shift+Enter starts a new line; sending is off while a reply streams or a file uploads. */
export function Composer({ value, onChange, onSend, onStop, streaming, attachments }: ComposerProps) {
  const { t } = useTranslation();
  const textarea = useRef<HTMLTextAreaElement>(null);
  const picker = useRef<HTMLInputElement>(null);
  const uploading = attachments?.uploading ?? false;
  // A message may be only its files.
  const hasFiles = (attachments?.readyIds.length ?? 0) > 0;
  const canSend = !streaming && !uploading && (value.trim() !== "" || hasFiles);

  useLayoutEffect(() => {
    const element = textarea.current;
    if (!element) return;
    element.style.height = "auto";
    element.style.height = `${Math.min(element.scrollHeight, MAX_HEIGHT_PX)}px`;
  }, [value]);

  function submit(event?: FormEvent) {
    event?.preventDefault();
    if (canSend) onSend(attachments?.readyIds ?? []);
  }

  function onPaste(event: ClipboardEvent<HTMLTextAreaElement>) {
    const images = attachments ? pastedImages(event.clipboardData) : [];
    if (images.length === 0) return;
    event.preventDefault(); // a copied image often comes with its HTML too: attach it, do not paste markup
    attachments?.add(images);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  }

  return (
    <form className="composer" onSubmit={submit}>
      {attachments && <AttachmentChips chips={attachments.chips} onRemove={attachments.remove} />}
      <div className="composer-row">
        {attachments && (
          <>
            <button
              type="button"
              className="icon-button attach"
              onClick={() => picker.current?.click()}
              aria-label={t("uploads.attach")}
              title={t("uploads.attach")}
            >
              <PaperclipIcon />
            </button>
            <input
              ref={picker}
              type="file"
              multiple
              accept={ACCEPT}
              className="visually-hidden"
              tabIndex={-1}
              aria-hidden="true"
              data-testid="attach-input"
              onChange={(event) => {
                attachments.add(Array.from(event.target.files ?? []));
                event.target.value = ""; // the same file can be picked again after removing it
              }}
            />
          </>
        )}
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
          onPaste={onPaste}
          autoFocus
        />
        <span id="composer-hint" className="visually-hidden">
          {t("chat.composerHint")}
          {uploading ? ` ${t("uploads.waitForUploads")}` : ""}
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
      </div>
    </form>
  );
}
