import type { UploadedFile } from "./types";

/** The server's defaults (UPLOAD_MAX_BYTES, UPLOADS_PER_MESSAGE): checked here too, so a file that
 * is sure to be refused is never sent. */
export const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
export const MAX_ATTACHMENTS = 5;
export const IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp", "image/gif"];
/** For the file picker only: the server decides the type from the bytes. */
export const ACCEPT =
  "image/png,image/jpeg,image/webp,image/gif,application/pdf,text/*,.txt,.md,.csv,.json,.py,.js,.ts,.tsx,.jsx,.java,.c,.cpp,.h,.go,.rs,.rb,.php,.sh,.sql,.yaml,.yml,.toml,.xml,.html,.css";

export type UploadErrorKey =
  | "too_big"
  | "too_many_pixels"
  | "wrong_type"
  | "quota"
  | "too_many"
  | "network"
  | "failed";

export interface AttachmentChip {
  key: string;
  name: string;
  size: number;
  /** What the browser says (for the icon and the local thumbnail); the server's type wins once uploaded. */
  mimeType: string;
  status: "uploading" | "ready" | "error";
  progress: number;
  upload?: UploadedFile;
  error?: UploadErrorKey;
  /** A blob: URL of the local file, for an image's thumbnail. */
  previewUrl?: string;
}

export type ChipAction =
  | { type: "add"; chip: AttachmentChip }
  | { type: "progress"; key: string; progress: number }
  | { type: "done"; key: string; upload: UploadedFile }
  | { type: "failed"; key: string; error: UploadErrorKey }
  | { type: "remove"; key: string }
  | { type: "clear" };

export function chipsReducer(chips: AttachmentChip[], action: ChipAction): AttachmentChip[] {
  switch (action.type) {
    case "add":
      return [...chips, action.chip];
    case "progress":
      return chips.map((chip) =>
        chip.key === action.key && chip.status === "uploading"
          ? { ...chip, progress: Math.max(chip.progress, Math.min(1, action.progress)) }
          : chip,
      );
    case "done":
      return chips.map((chip) =>
        chip.key === action.key
          ? { ...chip, status: "ready", progress: 1, upload: action.upload, mimeType: action.upload.mime_type }
          : chip,
      );
    case "failed":
      return chips.map((chip) => (chip.key === action.key ? { ...chip, status: "error", error: action.error } : chip));
    case "remove":
      return chips.filter((chip) => chip.key !== action.key);
    case "clear":
      return [];
  }
}

/** A new chip for `file`: uploading, or already an error when the file is sure to be refused. */
export function chipFor(file: File, key: string, current: AttachmentChip[], previewUrl?: string): AttachmentChip {
  const chip: AttachmentChip = {
    key,
    name: file.name || "file",
    size: file.size,
    mimeType: file.type,
    status: "uploading",
    progress: 0,
    previewUrl,
  };
  const counted = current.filter((other) => other.status !== "error").length;
  if (counted >= MAX_ATTACHMENTS) return { ...chip, status: "error", error: "too_many" };
  if (file.size > MAX_UPLOAD_BYTES) return { ...chip, status: "error", error: "too_big" };
  return chip;
}

/** The server's answer as one of the chip's messages. */
export function uploadErrorKey(status: number, detail: string): UploadErrorKey {
  if (status === 413) {
    if (detail.startsWith("Your uploads use")) return "quota";
    // An image (or animation) with too many pixels is refused whatever its size in bytes.
    if (/^The (image|animation) is too large/.test(detail)) return "too_many_pixels";
    return "too_big";
  }
  if (status === 415) return "wrong_type";
  if (status === 0) return "network";
  return "failed";
}

export const readyIds = (chips: AttachmentChip[]): number[] =>
  chips.flatMap((chip) => (chip.status === "ready" && chip.upload ? [chip.upload.id] : []));

export const isUploading = (chips: AttachmentChip[]): boolean => chips.some((chip) => chip.status === "uploading");

export const isImage = (mimeType: string): boolean => IMAGE_TYPES.includes(mimeType);

/** Image files from a paste (screenshots arrive as files named image.png). */
export function pastedImages(data: DataTransfer | null): File[] {
  if (!data) return [];
  return Array.from(data.files).filter((file) => isImage(file.type));
}
