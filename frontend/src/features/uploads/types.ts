/** A file stored on the server (POST /api/uploads). */
export interface UploadedFile {
  id: number;
  name: string;
  mime_type: string;
  size: number;
  created_at: string;
}

/** A file as a sent message lists it (no date: it was sent with the message). */
export interface SentFile {
  id: number;
  name: string;
  mime_type: string;
  size: number;
}
