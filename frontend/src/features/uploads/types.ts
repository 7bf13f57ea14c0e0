/** A file stored on the server (POST /api/uploads). */
export interface UploadedFile {
  id: number;
  name: string;
  mime_type: string;
  size: number;
  created_at: string;
}
