export interface User {
  id: number;
  email: string;
  is_admin: boolean;
  is_active: boolean;
  created_at: string;
}

export interface Token {
  access_token: string;
  token_type: "bearer";
  expires_at: string;
}

export interface Health {
  status: "ok" | "error";
  database: string;
  llm_provider: string;
  llm_model: string;
  allow_signup: boolean;
  allow_sharing: boolean;
  allow_api_keys: boolean;
  warnings: string[];
}
