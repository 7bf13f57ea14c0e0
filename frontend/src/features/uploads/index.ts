export { AttachmentChips } from "./components/AttachmentChips";
export { MessageAttachments } from "./components/MessageAttachments";
export { ACCEPT, pastedImages, type AttachmentChip } from "./attachments";
export { useAttachments, useAuthorizedBlobUrl, type Attachments } from "./hooks";
export { fetchUploadBlob } from "./api";
export type { SentFile, UploadedFile } from "./types";
