import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
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
        {messages.map((message) => (
          <MessageItem
            key={messageKey(keys, message)}
            message={message}
            streaming={streaming && message.id === PENDING_ASSISTANT_ID}
            canEdit={message.id > 0 && message.role === "user"}
            canRegenerate={message.id > 0 && message.role === "assistant"}
            highlighted={message.id === focusId}
            onRegenerate={onRegenerate}
            onEdit={onEdit}
            onSwitch={onSwitch}
          />
        ))}
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
