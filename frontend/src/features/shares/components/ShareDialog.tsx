import { memo, useState } from "react";
import { useTranslation } from "react-i18next";
import { CopyButton } from "../../../components/CopyButton";
import { Dialog } from "../../../components/Dialog";
import { ShareIcon } from "../../../components/icons";
import { formatDateTime } from "../../../lib/format";
import { useHealth } from "../../auth";
import { shareUrl } from "../api";
import { useConversationShare, useRevokeShare, useShareConversation } from "../hooks";

/**
 * The chat header's Share button and its dialog; nothing when the server turned sharing off.
 * Memoised: the chat page renders again with every streamed update, this stays as it was.
 */
export const ShareButton = memo(function ShareButton({ conversationId }: { conversationId: number }) {
  const { t } = useTranslation();
  const health = useHealth();
  const [open, setOpen] = useState(false);
  if (!health.data?.allow_sharing) return null;
  return (
    <>
      <button type="button" className="button" aria-label={t("share.label")} onClick={() => setOpen(true)}>
        <ShareIcon /> <span className="hide-narrow">{t("share.button")}</span>
      </button>
      <ShareDialog conversationId={conversationId} open={open} onClose={() => setOpen(false)} />
    </>
  );
});

interface ShareDialogProps {
  conversationId: number;
  open: boolean;
  onClose: () => void;
}

export function ShareDialog({ conversationId, open, onClose }: ShareDialogProps) {
  const { t, i18n } = useTranslation();
  const share = useConversationShare(conversationId, open);
  const create = useShareConversation();
  const revoke = useRevokeShare();
  const failed = create.isError || revoke.isError || share.isError;
  const busy = create.isPending || revoke.isPending;
  const link = share.data ? shareUrl(share.data.share_id) : null;

  return (
    <Dialog open={open} title={t("share.title")} onClose={onClose}>
      <p>{t("share.intro")}</p>
      {share.isPending ? (
        <p role="status">{t("common.loading")}</p>
      ) : link && share.data ? (
        <>
          <div className="field">
            <label htmlFor={`share-link-${conversationId}`}>{t("share.link")}</label>
            <div className="copy-field">
              <input id={`share-link-${conversationId}`} value={link} readOnly onFocus={(e) => e.target.select()} />
              <CopyButton text={link} label={t("share.copy")} />
            </div>
          </div>
          <p className="muted">
            {t("share.updated", { time: formatDateTime(share.data.updated_at, i18n.language) })}
          </p>
        </>
      ) : null}
      {failed && (
        <p className="form-error" role="alert">
          {t("share.error")}
        </p>
      )}
      <div className="dialog-actions">
        {share.data ? (
          <>
            <button
              type="button"
              className="button danger"
              disabled={busy}
              onClick={() => share.data && revoke.mutate(share.data.share_id)}
            >
              {t("share.revoke")}
            </button>
            <button type="button" className="button" disabled={busy} onClick={() => create.mutate(conversationId)}>
              {t("share.refresh")}
            </button>
          </>
        ) : (
          <button
            type="button"
            className="button primary"
            disabled={busy || share.isPending}
            onClick={() => create.mutate(conversationId)}
          >
            {t("share.create")}
          </button>
        )}
        <button type="button" className="button" onClick={onClose}>
          {t("common.close")}
        </button>
      </div>
    </Dialog>
  );
}
