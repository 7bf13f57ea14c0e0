export interface ApiKey {
  id: number;
  name: string;
  /** The key's first characters, to recognise it. */
  prefix: string;
  created_at: string;
  last_used_at: string | null;
}

export interface CreatedApiKey extends ApiKey {
  /** Shown once: the server keeps only its hash. */
  key: string;
}
