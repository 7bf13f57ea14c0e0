import { Suspense, useCallback, useEffect, useRef, useState, type DragEvent, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate, useSearchParams } from "react-router";
import { useAuth } from "../../auth";
import {
  ChatSettingsBar,
  DEFAULT_SETTINGS,
  usePreferences,
  type ChatSettings,
} from "../../chat-settings";
import {
  displayTitle,
  ExportMenu,
  useConversation,
  useRefreshConversations,
  useUpdateConversationSettings,
} from "../../conversations";
import { formatDateTime } from "../../../lib/format";
import { ShareButton } from "../../shares";
import { useAttachments } from "../../uploads";
import { useRefreshUsage } from "../../usage";
import { useChat, type ChatError, type RetryAction } from "../hooks/use-chat";
import { Composer } from "./Composer";
import { MessageList } from "./MessageList";

interface ChatPageProps {
  conversationId: number | null;
  /** The layout's drawer button, shown in this header on narrow screens. */
  leading?: ReactNode;
}

export function ChatPage({ conversationId, leading }: ChatPageProps) {
  const { t } = useTranslation();
  const { user } = useAuth();
  const navigate = useNavigate();
  const refreshConversations = useRefreshConversations();
  const refreshUsage = useRefreshUsage();
  const conversation = useConversation(conversationId);
  // One draft per conversation: switching keeps what was typed where it was typed.
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const draftKey = conversationId === null ? "new" : String(conversationId);
  const draft = drafts[draftKey] ?? "";
  const setDraft = useCallback(
    (value: string | ((current: string) => string)) =>
      setDrafts((all) => ({ ...all, [draftKey]: typeof value === "function" ? value(all[draftKey] ?? "") : value })),
    [draftKey],
  );
  // A new chat's settings as the person changed them (null: their preferences, sent by the server).
  const [newSettings, setNewSettings] = useState<ChatSettings | null>(null);
  const preferences = usePreferences(conversationId === null);
  const updateSettings = useUpdateConversationSettings();
  const settings: ChatSettings =
    conversationId !== null
      ? conversation.data
        ? {
            model: conversation.data.model ?? null,
            system_prompt: conversation.data.system_prompt ?? null,
            temperature: conversation.data.temperature ?? null,
            web_search: conversation.data.web_search ?? false,
            thinking: conversation.data.thinking ?? false,
          }
        : DEFAULT_SETTINGS
      : (newSettings ?? (preferences.data ? pickSettings(preferences.data) : DEFAULT_SETTINGS));
  function changeSettings(next: ChatSettings) {
    if (conversationId === null) setNewSettings(next);
    else updateSettings.mutate({ id: conversationId, change: next });
  }
  const chat = useChat(conversationId, {
    onConversationStarted: (id) => {
      setNewSettings(null);
      navigate(`/c/${id}`, { replace: true });
      refreshConversations();
    },
    onTitle: (id, title) => refreshConversations({ id, title }),
    onActivity: () => {
      refreshConversations();
      refreshUsage();
    },
  });

  // Stable callbacks: the messages that are not streaming keep equal props and skip rendering.
  const { regenerate, edit, switchBranch, isBusy, loadOlder } = chat;
  const onRegenerate = useCallback((messageId: number) => void regenerate(messageId), [regenerate]);
  const onEdit = useCallback(
    (messageId: number, text: string) => {
      if (isBusy()) return false;
      void edit(messageId, text);
      return true;
    },
    [edit, isBusy],
  );
  const onSwitch = useCallback((fromId: number, toId: number) => void switchBranch(fromId, toId), [switchBranch]);
  const onLoadOlder = useCallback(() => void loadOlder(), [loadOlder]);
  const attachments = useAttachments();
  const [dropping, setDropping] = useState(false);

  // `?m=<message id>` (a search hit): page back until that message is loaded, then the list shows it.
  // A hit on another branch (newer than the oldest message loaded, or not found back to the first
  // message) switches to that branch once, then pages back the same way.
  const [params] = useSearchParams();
  const focusId = Number(params.get("m")) || null;
  const requestedBefore = useRef<number | null>(null);
  const branchShown = useRef<number | null>(null);
  const { messages, hasMore, loading, showBranchOf } = chat;
  useEffect(() => {
    if (focusId === null || loading || messages.some((message) => message.id === focusId)) return;
    const oldest = messages.find((message) => message.id > 0);
    if (!oldest) return;
    if (!hasMore || oldest.id < focusId) {
      if (branchShown.current === focusId) return;
      branchShown.current = focusId;
      void showBranchOf(focusId);
      return;
    }
    if (requestedBefore.current === oldest.id) return;
    requestedBefore.current = oldest.id;
    void loadOlder();
  }, [focusId, loading, hasMore, messages, loadOlder, showBranchOf]);

  // attachmentIds are the composer's uploaded files: they stay there until the server takes them.
  async function send(text: string, attachmentIds: number[]) {
    setDraft("");
    const accepted = await chat.send(text, attachmentIds, newChatSettings());
    // The server never took it: put the text back so nothing the person typed is lost.
    if (!accepted) setDraft((current) => (current === "" ? text : current));
    else if (attachmentIds.length > 0) attachments.clear();
  }

  /** What a new chat is created with, when the person changed its settings. */
  function newChatSettings(): ChatSettings | undefined {
    return conversationId === null && newSettings ? newSettings : undefined;
  }

  function hasFiles(event: DragEvent) {
    return Array.from(event.dataTransfer.types).includes("Files");
  }

  function onDragOver(event: DragEvent) {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    setDropping(true);
  }

  function onDragLeave(event: DragEvent) {
    // Leaving for a child of the section is not leaving the drop zone.
    if (!event.currentTarget.contains(event.relatedTarget as Node | null)) setDropping(false);
  }

  function onDrop(event: DragEvent) {
    if (!hasFiles(event)) return;
    event.preventDefault();
    setDropping(false);
    attachments.add(Array.from(event.dataTransfer.files));
  }

  function retry(action: RetryAction) {
    if (action.type === "send" && action.editOf !== undefined) {
      void chat.edit(action.editOf, action.text);
    } else if (action.type === "send") {
      if (draft === action.text) setDraft("");
      void chat.send(action.text, action.attachmentIds, newChatSettings()).then((accepted) => {
        if (!accepted) setDraft((current) => (current === "" ? action.text : current));
        else if (action.attachmentIds?.length) attachments.clear();
      });
    } else {
      void chat.regenerate(action.messageId);
    }
  }

  function retryLast() {
    if (chat.error) retry(chat.error.retry);
  }

  const title =
    conversationId === null ? t("chat.newChat") : conversation.data ? displayTitle(conversation.data.title, t) : "";
  useEffect(() => {
    document.title = title ? `${title} · Conversa` : "Conversa";
  }, [title]);

  return (
    <section
      className={dropping ? "chat dropping" : "chat"}
      aria-labelledby="chat-title"
      onDragOver={onDragOver}
      onDragLeave={onDragLeave}
      onDrop={onDrop}
    >
      {dropping && (
        <div className="drop-overlay" aria-hidden="true">
          {t("uploads.dropHere")}
        </div>
      )}
      <header className="chat-header">
        {leading}
        <h1 id="chat-title" className="chat-title" title={title}>
          {title}
        </h1>
        {conversationId !== null && chat.messages.length > 0 && (
          <>
            <ShareButton conversationId={conversationId} />
            <ExportMenu conversationId={conversationId} />
          </>
        )}
      </header>
      {conversation.isError || chat.loadFailed ? (
        <div className="chat-empty" role="alert">
          <p>{t("chat.notFound")}</p>
        </div>
      ) : chat.messages.length === 0 && !chat.loading ? (
        <div className="chat-empty">
          <h2>{t("chat.welcomeTitle")}</h2>
          <p className="muted">{t("chat.welcomeText")}</p>
        </div>
      ) : (
        <MessageList
          messages={chat.messages}
          keys={{ exchange: chat.exchange, keys: chat.keys }}
          streaming={chat.streaming}
          hasMore={chat.hasMore}
          loadingOlder={chat.loadingOlder}
          loadOlderFailed={chat.loadOlderFailed}
          onLoadOlder={onLoadOlder}
          onRegenerate={onRegenerate}
          onEdit={onEdit}
          onSwitch={onSwitch}
          focusId={focusId}
        >
          {chat.error && <ErrorNotice error={chat.error} onRetry={() => retryLast()} onDismiss={chat.dismissError} />}
        </MessageList>
      )}
      {chat.error && chat.messages.length === 0 && (
        <ErrorNotice error={chat.error} onRetry={() => retryLast()} onDismiss={chat.dismissError} />
      )}
      <div className="composer-wrap">
        <Suspense fallback={<div className="chat-settings" />}>
          <ChatSettingsBar
            t={t}
            settings={settings}
            onChange={changeSettings}
            canShare={user?.is_admin ?? false}
            disabled={chat.streaming || (conversationId !== null && !conversation.data)}
          />
        </Suspense>
        <Composer
          value={draft}
          onChange={setDraft}
          onSend={(attachmentIds) => void send(draft, attachmentIds)}
          onStop={chat.stop}
          streaming={chat.streaming}
          attachments={attachments}
        />
        <p className="composer-note muted">{t("chat.disclaimer")}</p>
      </div>
    </section>
  );
}

function pickSettings(source: ChatSettings): ChatSettings {
  const { model, system_prompt, temperature, web_search, thinking } = source;
  return { model, system_prompt, temperature, web_search, thinking };
}

interface ErrorNoticeProps {
  error: ChatError;
  onRetry: () => void;
  onDismiss: () => void;
}

function ErrorNotice({ error, onRetry, onDismiss }: ErrorNoticeProps) {
  const { t, i18n } = useTranslation();
  const time = error.retryAt ? formatDateTime(error.retryAt, i18n.language) : "";
  return (
    <div className="chat-error" role="alert">
      <p>{t(`chat.errors.${error.key}`, { time, defaultValue: t("chat.errors.internal") })}</p>
      <div className="chat-error-actions">
        <button type="button" className="button primary" onClick={onRetry}>
          {t("chat.retry")}
        </button>
        <button type="button" className="button" onClick={onDismiss}>
          {t("common.dismiss")}
        </button>
      </div>
    </div>
  );
}
