export { AttachmentChips } from "./components/AttachmentChips";
export { ACCEPT, pastedImages, type AttachmentChip } from "./attachments";
export { useAttachments, useAuthorizedBlobUrl, type Attachments } from "./hooks";
export { fetchUploadBlob } from "./api";
export type { UploadedFile } from "./types";
