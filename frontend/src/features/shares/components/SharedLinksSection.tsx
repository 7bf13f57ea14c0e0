import { useTranslation } from "react-i18next";
import { CopyButton } from "../../../components/CopyButton";
import { formatDateTime } from "../../../lib/format";
import { shareUrl } from "../api";
import { useRevokeShare, useShares } from "../hooks";

/** Settings: every link the user handed out, to copy or revoke. */
export function SharedLinksSection() {
  const { t, i18n } = useTranslation();
  const shares = useShares();
  const revoke = useRevokeShare();

  return (
    <section className="settings-section" aria-labelledby="shared-links-title">
      <h3 id="shared-links-title">{t("sharedLinks.title")}</h3>
      {shares.isError || revoke.isError ? (
        <p className="form-error" role="alert">
          {t("sharedLinks.error")}
        </p>
      ) : null}
      {shares.data?.length === 0 && <p className="muted">{t("sharedLinks.empty")}</p>}
      <ul className="settings-list">
        {shares.data?.map((share) => (
          <li key={share.share_id} className="settings-item">
            <div className="settings-item-text">
              <a href={`/s/${share.share_id}`} target="_blank" rel="noopener noreferrer">
                {share.title}
              </a>
              <span className="muted">
                {t("sharedLinks.updated", { time: formatDateTime(share.updated_at, i18n.language) })}
              </span>
            </div>
            <CopyButton text={shareUrl(share.share_id)} label={t("share.copy")} />
            <button
              type="button"
              className="button small"
              aria-label={t("sharedLinks.revokeNamed", { title: share.title })}
              disabled={revoke.isPending}
              onClick={() => revoke.mutate(share.share_id)}
            >
              {t("share.revoke")}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
