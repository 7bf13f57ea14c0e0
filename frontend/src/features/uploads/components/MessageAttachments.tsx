import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Dialog } from "../../../components/Dialog";
import { DownloadIcon, FileIcon } from "../../../components/icons";
import { formatBytes } from "../../../lib/format";
import { fetchUploadBlob } from "../api";
import { isImage } from "../attachments";
import { useAuthorizedBlobUrl } from "../hooks";
import type { SentFile } from "../types";

interface MessageAttachmentsProps {
  files: SentFile[] | undefined;
}

/** A sent message's files: images as thumbnails (click: full view), others as chips (click: download). */
export function MessageAttachments({ files }: MessageAttachmentsProps) {
  const { t } = useTranslation();
  if (!files || files.length === 0) return null;
  return (
    <ul className="message-attachments" aria-label={t("uploads.attachments")}>
      {files.map((file) => (
        <li key={file.id}>{isImage(file.mime_type) ? <ImageThumb file={file} /> : <FileChip file={file} />}</li>
      ))}
    </ul>
  );
}

function ImageThumb({ file }: { file: SentFile }) {
  const { t } = useTranslation();
  const url = useAuthorizedBlobUrl(file.id);
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        className="message-thumb"
        onClick={() => setOpen(true)}
        aria-label={t("uploads.open", { name: file.name })}
        title={file.name}
      >
        {url ? <img src={url} alt={file.name} /> : <span className="message-thumb-placeholder" />}
      </button>
      <Dialog open={open} title={file.name} onClose={() => setOpen(false)}>
        {url && <img className="message-image-full" src={url} alt={file.name} />}
        <div className="dialog-actions">
          <button type="button" className="button" onClick={() => setOpen(false)}>
            {t("common.close")}
          </button>
        </div>
      </Dialog>
    </>
  );
}

function FileChip({ file }: { file: SentFile }) {
  const { t, i18n } = useTranslation();
  const size = formatBytes(file.size, i18n.language);
  const [busy, setBusy] = useState(false);

  // Fetched with the token and saved from a blob: URL, never a link anyone could open.
  async function download() {
    setBusy(true);
    try {
      const url = URL.createObjectURL(await fetchUploadBlob(file.id));
      const link = document.createElement("a");
      link.href = url;
      link.download = file.name;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 0);
    } catch {
      // The file is gone (deleted with another branch) or the network failed: nothing to save.
    } finally {
      setBusy(false);
    }
  }

  return (
    <button
      type="button"
      className="attachment-chip message-file"
      onClick={() => void download()}
      aria-busy={busy}
      aria-label={t("uploads.download", { name: file.name, size })}
      title={t("uploads.download", { name: file.name, size })}
    >
      <span className="attachment-icon">
        <FileIcon />
      </span>
      <span className="attachment-text">
        <span className="attachment-name">{file.name}</span>
        <span className="attachment-size muted">{size}</span>
      </span>
      <DownloadIcon />
    </button>
  );
}
