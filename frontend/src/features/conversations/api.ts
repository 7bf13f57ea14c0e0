import { apiFetch, apiJson } from "../../lib/api-client";
import type { Conversation, ConversationPage, ConversationSettingsChange, ExportFormat } from "./types";

export function listConversations(query: string, limit: number, offset: number): Promise<ConversationPage> {
  const params = new URLSearchParams({ limit: String(limit), offset: String(offset) });
  if (query.trim()) params.set("q", query.trim());
  return apiJson<ConversationPage>(`/api/conversations?${params}`);
}

export const getConversation = (id: number) => apiJson<Conversation>(`/api/conversations/${id}`);

export const renameConversation = (id: number, title: string) =>
  apiJson<Conversation>(`/api/conversations/${id}`, { method: "PATCH", json: { title } });

/** Changes the settings given; the next turn uses them. */
export const updateConversationSettings = (id: number, change: ConversationSettingsChange) =>
  apiJson<Conversation>(`/api/conversations/${id}`, { method: "PATCH", json: change });

export const deleteConversation = (id: number) =>
  apiJson<void>(`/api/conversations/${id}`, { method: "DELETE" });

function filenameFrom(disposition: string | null): string | null {
  if (!disposition) return null;
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  if (encoded?.[1]) return decodeURIComponent(encoded[1]);
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  return plain?.[1] ?? null;
}

/** Fetches the export with the bearer token, then hands the file to the browser. */
export async function downloadExport(id: number, format: ExportFormat): Promise<void> {
  const response = await apiFetch(`/api/conversations/${id}/export?format=${format}`);
  const blob = await response.blob();
  const fallback = `conversa-${id}.${format === "markdown" ? "md" : "json"}`;
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filenameFrom(response.headers.get("Content-Disposition")) ?? fallback;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
