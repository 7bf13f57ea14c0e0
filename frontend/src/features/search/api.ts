import { apiJson } from "../../lib/api-client";
import type { SearchPage } from "./types";

export function searchMessages(query: string, limit = 20, offset = 0): Promise<SearchPage> {
  const params = new URLSearchParams({ q: query, limit: String(limit), offset: String(offset) });
  return apiJson<SearchPage>(`/api/search?${params}`);
}
