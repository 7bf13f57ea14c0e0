import { useEffect, useLayoutEffect, useRef, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { whenIdle } from "../../../lib/idle";
import { messageKey, PENDING_ASSISTANT_ID, type ChatState } from "../hooks/use-chat";
import type { Message } from "../types";
import { MessageItem } from "./MessageItem";

interface MessageListProps {
  messages: Message[];
  /** What keeps a streamed message's view when the server gives it its id. */
  keys: Pick<ChatState, "exchange" | "keys">;
  streaming: boolean;
  hasMore: boolean;
  loadingOlder: boolean;
  loadOlderFailed: boolean;
  onLoadOlder: () => void;
  onRegenerate: (messageId: number) => void;
  /** False when it could not start (a reply is streaming): the editor stays open. */
  onEdit: (messageId: number, text: string) => boolean;
  onSwitch: (fromId: number, toId: number) => void;
  /** Scroll to this message and mark it (a search hit), once it is loaded. */
  focusId?: number | null;
  children?: React.ReactNode;
}

const STICK_DISTANCE_PX = 80;
/**
 * A message this long that leaves the end of the list (a reply answered again, an edited question's
 * branch, another version shown) is hidden at once and removed once the browser is idle: taking
 * thousands of laid-out, highlighted nodes out of the page in the same task as the click is a long task.
 */
export const LEAVE_LATER_CHARS = 3000;
const LEAVE_TIMEOUT_MS = 1000;

interface View {
  key: string;
  message: Message;
}

/** What the list shows: the messages, and the long ones that left them, kept hidden after `afterKey` (null: first). */
interface Shown {
  messages: Message[];
  views: View[];
  leaving: View[];
  afterKey: string | null;
}

/**
 * The long messages that left the end of the list between `before` and `after` (views past their
 * common start whose key is gone), placed after the last view the two share.
 */
export function leavingViews(before: View[], after: View[]): { leaving: View[]; afterKey: string | null } {
  let common = 0;
  while (common < before.length && common < after.length && before[common]?.key === after[common]?.key) common++;
  const kept = new Set(after.map((view) => view.key));
  const leaving = before
    .slice(common)
    .filter((view) => !kept.has(view.key) && view.message.content.length >= LEAVE_LATER_CHARS);
  return { leaving, afterKey: common > 0 ? (after[common - 1]?.key ?? null) : null };
}


export function MessageList({
  messages,
  keys,
  streaming,
  hasMore,
  loadingOlder,
  loadOlderFailed,
  onLoadOlder,
  onRegenerate,
  onEdit,
  onSwitch,
  focusId = null,
  children,
}: MessageListProps) {
  const { t } = useTranslation();
  const scroller = useRef<HTMLDivElement>(null);
  const list = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);
  // Where the first message was on screen when older ones were asked for: it stays there.
  const olderAnchor = useRef<{ id: number; top: number } | null>(null);
  const focusedId = useRef<number | null>(null);
  // Until the person scrolls, the focused message stays in view while content above it grows.
  const holdFocus = useRef(false);
  const [showJump, setShowJump] = useState(false);
  const views = messages.map((message) => ({ key: messageKey(keys, message), message }));
  // Long messages that left stay mounted, hidden, until the browser is idle (see LEAVE_LATER_CHARS).
  const [shown, setShown] = useState<Shown>({ messages, views, leaving: [], afterKey: null });
  let { leaving, afterKey } = shown;
  if (shown.messages !== messages) {
    const gone = leavingViews(shown.views, views);
    const stillGone = leaving.filter((view) => !views.some((current) => current.key === view.key));
    if (gone.leaving.length > 0) {
      leaving = [...stillGone, ...gone.leaving];
      afterKey = gone.afterKey;
    } else {
      leaving = afterKey === null || views.some((view) => view.key === afterKey) ? stillGone : [];
    }
    setShown({ messages, views, leaving, afterKey });
  }
  useEffect(() => {
    if (shown.leaving.length === 0) return;
    return whenIdle(() => setShown((current) => ({ ...current, leaving: [] })), LEAVE_TIMEOUT_MS);
  }, [shown.leaving]);

  // Follow the stream unless the person scrolled up to read.
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const anchor = olderAnchor.current;
    if (anchor && messages[0]?.id !== anchor.id) {
      olderAnchor.current = null;
      const same = list.current?.querySelector(`article[data-message-id="${anchor.id}"]`);
      if (same) element.scrollTop += same.getBoundingClientRect().top - anchor.top;
      return;
    }
    if (stickToBottom.current) element.scrollTop = element.scrollHeight;
  }, [messages, children]);

  useLayoutEffect(() => {
    if (focusId === null || focusedId.current === focusId) return;
    const target = list.current?.querySelector<HTMLElement>(`[data-message-id="${focusId}"]`);
    if (!target) return;
    focusedId.current = focusId;
    stickToBottom.current = false;
    holdFocus.current = true;
    target.scrollIntoView({ block: "center" });
    setShowJump(true);
  }, [focusId, messages]);

  // Content also grows on its own (Markdown and highlighting load lazily): keep the bottom in view.
  useEffect(() => {
    const element = scroller.current;
    if (!element || !list.current || typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(() => {
      if (stickToBottom.current) element.scrollTop = element.scrollHeight;
      else if (holdFocus.current && focusedId.current !== null) {
        list.current
          ?.querySelector<HTMLElement>(`[data-message-id="${focusedId.current}"]`)
          ?.scrollIntoView({ block: "center" });
      }
    });
    observer.observe(list.current);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    if (!streaming) return;
    stickToBottom.current = true;
    holdFocus.current = false;
    const element = scroller.current;
    if (element) element.scrollTop = element.scrollHeight;
  }, [streaming]);

  function onScroll() {
    const element = scroller.current;
    if (!element) return;
    const distance = element.scrollHeight - element.scrollTop - element.clientHeight;
    stickToBottom.current = distance < STICK_DISTANCE_PX;
    setShowJump(!stickToBottom.current);
  }

  // Wheel, touch and keys say "I am reading above" at once, before the next token can scroll.
  function leaveBottom() {
    stickToBottom.current = false;
    holdFocus.current = false;
  }

  // One flat keyed list: a leaving message keeps its place (and its mounted view) next to the ones that stay.
  const renderLeaving = ({ key, message }: View) => (
    <MessageItem
      key={key}
      message={message}
      streaming={false}
      canEdit={false}
      canRegenerate={false}
      leaving
      onRegenerate={onRegenerate}
      onEdit={onEdit}
      onSwitch={onSwitch}
    />
  );
  const items: ReactNode[] = afterKey === null ? leaving.map(renderLeaving) : [];
  for (const { key, message } of views) {
    items.push(
      <MessageItem
        key={key}
        message={message}
        streaming={streaming && message.id === PENDING_ASSISTANT_ID}
        canEdit={message.id > 0 && message.role === "user"}
        canRegenerate={message.id > 0 && message.role === "assistant"}
        highlighted={message.id === focusId}
        onRegenerate={onRegenerate}
        onEdit={onEdit}
        onSwitch={onSwitch}
      />,
    );
    if (key === afterKey) items.push(...leaving.map(renderLeaving));
  }

  function loadOlder() {
    const first = list.current?.querySelector<HTMLElement>("article[data-message-id]");
    olderAnchor.current = first ? { id: Number(first.dataset.messageId), top: first.getBoundingClientRect().top } : null;
    onLoadOlder();
  }

  function jumpToLatest() {
    const element = scroller.current;
    if (!element) return;
    stickToBottom.current = true;
    holdFocus.current = false;
    element.scrollTop = element.scrollHeight;
    setShowJump(false);
  }

  return (
    <div
      className="message-scroller"
      ref={scroller}
      onScroll={onScroll}
      onWheel={(event) => {
        if (event.deltaY < 0) leaveBottom();
      }}
      onTouchMove={leaveBottom}
      onKeyDown={(event) => {
        if (["ArrowUp", "PageUp", "Home"].includes(event.key)) leaveBottom();
      }}
    >
      <div
        ref={list}
        className="message-list"
        role="log"
        aria-live="polite"
        aria-busy={streaming}
        aria-label={t("chat.messagesLabel")}
      >
        {loadOlderFailed && (
          <p className="load-older-error" role="alert">
            {t("chat.loadOlderFailed")}
          </p>
        )}
        {hasMore && (
          <button
            type="button"
            className="button load-older"
            onClick={loadOlder}
            disabled={loadingOlder}
            aria-busy={loadingOlder}
          >
            {t("chat.loadOlder")}
          </button>
        )}
        {items}
        {children}
      </div>
      <p className="visually-hidden" role="status">
        {streaming ? t("chat.replying") : ""}
      </p>
      {showJump && (
        <button type="button" className="button jump-latest" onClick={jumpToLatest}>
          {t("chat.jumpToLatest")}
        </button>
      )}
    </div>
  );
}
