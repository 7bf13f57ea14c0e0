import { apiJson, publicJson } from "../../lib/api-client";
import type { ContinuedConversation, SharedConversation, ShareLink, ShareListItem } from "./types";

/** Creates the conversation's link, or refreshes its snapshot (same link). */
export const shareConversation = (conversationId: number) =>
  apiJson<ShareLink>(`/api/conversations/${conversationId}/share`, { method: "POST" });

export const listShares = () => apiJson<ShareListItem[]>("/api/shares");

export const revokeShare = (shareId: string) =>
  apiJson<void>(`/api/shares/${encodeURIComponent(shareId)}`, { method: "DELETE" });

/** `no-cache`: the browser asks again instead of reusing its copy (the answer says `max-age=60`, for
 * CloudFront), so whoever refreshes or revokes a link sees that at once on this page. */
export const getShared = (shareId: string) =>
  publicJson<SharedConversation>(`/api/shared/${encodeURIComponent(shareId)}`, { cache: "no-cache" });

export const continueShared = (shareId: string) =>
  apiJson<ContinuedConversation>(`/api/conversations/from-share/${encodeURIComponent(shareId)}`, { method: "POST" });

/** The link to hand out: this web app's own origin, whatever the API's base URL. */
export const shareUrl = (shareId: string) => `${window.location.origin}/s/${shareId}`;
