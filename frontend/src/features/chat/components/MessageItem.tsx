import { memo, Suspense, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { CopyButton } from "../../../components/CopyButton";
import { PencilIcon, RefreshIcon } from "../../../components/icons";
import { formatTime } from "../../../lib/format";
import { MessageAttachments } from "../../uploads";
import type { Message } from "../types";
import { LazyMarkdown as Markdown, LazyReplyExtras as ReplyExtras } from "./LazyMarkdown";
import { SiblingSwitcher } from "./SiblingSwitcher";

interface MessageItemProps {
  message: Message;
  streaming: boolean;
  // Not "and nothing streams": the list hides these actions while a reply streams (CSS on its
  // aria-busy), so a stream starting or ending renders no message but the streaming one.
  canRegenerate: boolean;
  canEdit: boolean;
  /** The message a search opened the conversation at. */
  highlighted?: boolean;
  /** Gone from the conversation: hidden (and out of layout) until the list removes it. */
  leaving?: boolean;
  /** Called with this message's id: answers its question again as a new version. */
  onRegenerate: (messageId: number) => void;
  /** Called with this message's id and the new text: sends it as a new version (false: not now). */
  onEdit: (messageId: number, text: string) => boolean;
  onSwitch: (fromId: number, toId: number) => void;
}

/**
 * One message. Memoised: while a reply streams, the other messages keep their props (the same
 * message objects, stable callbacks) and do not render again.
 */
export const MessageItem = memo(function MessageItem({
  message,
  streaming,
  canRegenerate,
  canEdit,
  highlighted = false,
  leaving = false,
  onRegenerate,
  onEdit,
  onSwitch,
}: MessageItemProps) {
  const { t, i18n } = useTranslation();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(message.content);
  const isUser = message.role === "user";
  const plain = <div className="plain-text">{message.content}</div>;
  const hasExtras = !isUser && Boolean(message.reasoning || message.sources?.length || message.search_entry_point);
  const extras = (part: "before" | "after") =>
    hasExtras && (
      <Suspense fallback={null}>
        <ReplyExtras
          part={part}
          reasoning={message.reasoning}
          reasoningMs={message.reasoning_ms}
          live={streaming && message.content === ""}
          sources={message.sources}
          searchEntryPoint={message.search_entry_point}
          labels={{
            summary: (count, live) => (live ? t("chat.thinking", { count }) : t("chat.thoughtFor", { count })),
            sources: t("chat.sources"),
            suggestions: t("chat.searchSuggestions"),
          }}
        />
      </Suspense>
    );

  function submitEdit(event?: FormEvent) {
    event?.preventDefault();
    if (!draft.trim() || !onEdit(message.id, draft)) return;
    setEditing(false);
  }

  return (
    <article
      className={`message ${message.role}${message.status === "incomplete" ? " incomplete" : ""}${highlighted ? " highlighted" : ""}`}
      data-message-id={message.id}
      aria-current={highlighted ? "true" : undefined}
      aria-label={isUser ? t("chat.you") : t("chat.assistant")}
      data-testid={leaving ? undefined : `message-${message.role}`}
      hidden={leaving}
    >
      <header className="message-meta">
        <span className="message-author">{isUser ? t("chat.you") : t("chat.assistant")}</span>
        {message.id > 0 && (
          <time dateTime={message.created_at}>{formatTime(message.created_at, i18n.language)}</time>
        )}
      </header>
      {extras("before")}
      <MessageAttachments files={message.attachments} />
      {editing ? (
        <form className="edit-form" onSubmit={submitEdit}>
          <label className="visually-hidden" htmlFor={`edit-${message.id}`}>
            {t("chat.editLabel")}
          </label>
          <textarea
            id={`edit-${message.id}`}
            value={draft}
            rows={3}
            autoFocus
            onChange={(event) => setDraft(event.target.value)}
            onKeyDown={(event) => {
              if (event.key === "Escape") setEditing(false);
              if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
                event.preventDefault();
                submitEdit();
              }
            }}
          />
          <div className="edit-actions">
            <button type="button" className="button" onClick={() => setEditing(false)}>
              {t("common.cancel")}
            </button>
            <button type="submit" className="button primary idle-only" disabled={!draft.trim()}>
              {t("chat.saveAndSend")}
            </button>
          </div>
        </form>
      ) : isUser ? (
        plain
      ) : message.content === "" && streaming && !message.reasoning ? (
        <div className="typing" aria-hidden="true">
          <span />
          <span />
          <span />
        </div>
      ) : (
        <Suspense fallback={plain}>
          <Markdown text={message.content} streaming={streaming} citations={message.citations} sources={message.sources} />
        </Suspense>
      )}
      {extras("after")}
      {message.status === "incomplete" && !streaming && (
        <p className="incomplete-note">{t("chat.incomplete")}</p>
      )}
      {!editing && !streaming && (
        <div className="message-actions">
          {message.siblings.ids.length > 1 && (
            <SiblingSwitcher message={message} onSwitch={onSwitch} />
          )}
          <CopyButton text={message.content} label={t("chat.copyMessage")} />
          {!isUser && message.model && (
            <span className="message-model" data-testid="message-model" title={t("chat.writtenBy")}>
              {message.model}
            </span>
          )}
          {canEdit && (
            <button
              type="button"
              className="icon-button small idle-only"
              aria-label={t("chat.edit")}
              title={t("chat.edit")}
              onClick={() => {
                setDraft(message.content);
                setEditing(true);
              }}
            >
              <PencilIcon />
            </button>
          )}
          {canRegenerate && (
            <button
              type="button"
              className="icon-button small idle-only"
              aria-label={t("chat.regenerate")}
              title={t("chat.regenerate")}
              onClick={() => onRegenerate(message.id)}
            >
              <RefreshIcon />
            </button>
          )}
        </div>
      )}
    </article>
  );
});
