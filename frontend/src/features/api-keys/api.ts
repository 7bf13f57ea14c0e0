import { apiJson } from "../../lib/api-client";
import type { ApiKey, CreatedApiKey } from "./types";

export const listKeys = () => apiJson<ApiKey[]>("/api/keys");

export const createKey = (name: string) => apiJson<CreatedApiKey>("/api/keys", { method: "POST", json: { name } });

export const revokeKey = (id: number) => apiJson<void>(`/api/keys/${id}`, { method: "DELETE" });
