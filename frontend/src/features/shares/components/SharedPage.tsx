import { Suspense, useEffect } from "react";
import { useMutation } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { useLocation, useNavigate, useParams } from "react-router";
import { formatDateTime } from "../../../lib/format";
import { useAuth } from "../../auth";
import { LazyMarkdown } from "../../chat";
import { useRefreshConversations } from "../../conversations";
import { continueShared } from "../api";
import { useShared } from "../hooks";
import type { SharedMessage } from "../types";

/** /s/:shareId — a shared conversation, read-only, for anyone with the link. */
export function SharedPage() {
  const { shareId = "" } = useParams();
  const { t, i18n } = useTranslation();
  const { status } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const refreshConversations = useRefreshConversations();
  const shared = useShared(shareId);
  const copy = useMutation({
    mutationFn: () => continueShared(shareId),
    onSuccess: (conversation) => {
      refreshConversations();
      navigate(`/c/${conversation.id}`);
    },
  });

  useEffect(() => {
    document.title = shared.data ? `${shared.data.title} · Conversa` : "Conversa";
  }, [shared.data]);

  function continueChat() {
    if (status === "signed-in") copy.mutate();
    else navigate("/login", { state: { from: location.pathname } });
  }

  return (
    <main className="shared-page">
      {/* React hoists it into <head>; the server also sends X-Robots-Tag: noindex for /s/*. */}
      <meta name="robots" content="noindex" />
      <header className="shared-header">
        <span className="brand">Conversa</span>
        <span className="muted">{t("shared.readOnly")}</span>
      </header>
      {shared.isPending ? (
        <p className="center-screen" role="status">
          {t("common.loading")}
        </p>
      ) : shared.isError || !shared.data ? (
        <div className="chat-empty" role="alert">
          <p>{t("shared.notFound")}</p>
        </div>
      ) : (
        <article className="shared-conversation" aria-labelledby="shared-title">
          <h1 id="shared-title">{shared.data.title}</h1>
          <p className="muted">
            {t("shared.snapshot", { time: formatDateTime(shared.data.updated_at, i18n.language) })}
          </p>
          <div className="message-list">
            {shared.data.messages.map((message, index) => (
              <SharedMessageItem key={index} message={message} />
            ))}
          </div>
          <div className="shared-actions">
            {copy.isError && (
              <p className="form-error" role="alert">
                {t("shared.continueError")}
              </p>
            )}
            <button type="button" className="button primary" disabled={copy.isPending} onClick={continueChat}>
              {status === "signed-in" ? t("shared.continue") : t("shared.logInToContinue")}
            </button>
          </div>
        </article>
      )}
    </main>
  );
}

function SharedMessageItem({ message }: { message: SharedMessage }) {
  const { t, i18n } = useTranslation();
  const isUser = message.role === "user";
  const plain = <div className="plain-text">{message.content}</div>;
  return (
    <article
      className={`message ${message.role}`}
      aria-label={isUser ? t("shared.user") : t("chat.assistant")}
      data-testid={`shared-message-${message.role}`}
    >
      <header className="message-meta">
        <span className="message-author">{isUser ? t("shared.user") : t("chat.assistant")}</span>
        <time dateTime={message.created_at}>{formatDateTime(message.created_at, i18n.language)}</time>
      </header>
      {isUser ? (
        plain
      ) : (
        <Suspense fallback={plain}>
          <LazyMarkdown text={message.content} />
        </Suspense>
      )}
    </article>
  );
}
