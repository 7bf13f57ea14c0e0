import { useTranslation } from "react-i18next";
import { CloseIcon, FileIcon } from "../../../components/icons";
import { formatBytes } from "../../../lib/format";
import { isImage, MAX_ATTACHMENTS, MAX_UPLOAD_BYTES, type AttachmentChip } from "../attachments";
import { useAuthorizedBlobUrl } from "../hooks";

interface AttachmentChipsProps {
  chips: AttachmentChip[];
  onRemove: (key: string) => void;
}

/** The composer's files: a thumbnail or an icon, name and size, progress while uploading, the error on the chip. */
export function AttachmentChips({ chips, onRemove }: AttachmentChipsProps) {
  if (chips.length === 0) return null;
  return (
    <ul className="attachment-chips">
      {chips.map((chip) => (
        <Chip key={chip.key} chip={chip} onRemove={() => onRemove(chip.key)} />
      ))}
    </ul>
  );
}

function Chip({ chip, onRemove }: { chip: AttachmentChip; onRemove: () => void }) {
  const { t, i18n } = useTranslation();
  const size = formatBytes(chip.size, i18n.language);
  const error = chip.error
    ? t(`uploads.errors.${chip.error}`, {
        max: formatBytes(MAX_UPLOAD_BYTES, i18n.language),
        count: MAX_ATTACHMENTS,
      })
    : null;
  return (
    <li className={`attachment-chip ${chip.status}`} aria-busy={chip.status === "uploading"}>
      <Thumbnail chip={chip} />
      <span className="attachment-text">
        <span className="attachment-name" title={chip.name}>
          {chip.name}
        </span>
        <span className={error ? "attachment-error" : "attachment-size muted"} role={error ? "alert" : undefined}>
          {error ?? size}
        </span>
      </span>
      {chip.status === "uploading" && (
        <progress
          className="attachment-progress"
          max={1}
          value={chip.progress}
          aria-label={t("uploads.uploading", { name: chip.name })}
        />
      )}
      <button
        type="button"
        className="attachment-remove"
        onClick={onRemove}
        aria-label={t("uploads.remove", { name: chip.name })}
        title={t("uploads.remove", { name: chip.name })}
      >
        <CloseIcon />
      </button>
    </li>
  );
}

function Thumbnail({ chip }: { chip: AttachmentChip }) {
  const serverUrl = useAuthorizedBlobUrl(!chip.previewUrl && chip.upload && isImage(chip.mimeType) ? chip.upload.id : null);
  const url = chip.previewUrl ?? serverUrl;
  if (url && isImage(chip.mimeType)) return <img className="attachment-thumb" src={url} alt="" />;
  return (
    <span className="attachment-icon">
      <FileIcon />
    </span>
  );
}
