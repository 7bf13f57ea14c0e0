import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import * as api from "./api";
import type { Conversation, ConversationListItem, ConversationSettingsChange } from "./types";

export const conversationKeys = {
  all: ["conversations"] as const,
  list: (query: string) => ["conversations", "list", query] as const,
  detail: (id: number) => ["conversations", "detail", id] as const,
};

export const CONVERSATION_PAGE_SIZE = 50;

/** The sidebar's list, newest first, a page at a time (`fetchNextPage` while `hasNextPage`). */
export function useConversationList(query: string) {
  return useInfiniteQuery({
    queryKey: conversationKeys.list(query),
    queryFn: ({ pageParam }) => api.listConversations(query, CONVERSATION_PAGE_SIZE, pageParam),
    initialPageParam: 0,
    getNextPageParam: (last, pages) => {
      const loaded = pages.reduce((count, page) => count + page.items.length, 0);
      return last.items.length > 0 && loaded < last.total ? loaded : undefined;
    },
    placeholderData: (previous) => previous,
  });
}

/** The loaded pages as one list; a conversation that moved between pages while they loaded appears once. */
export function flattenPages(pages: { items: ConversationListItem[] }[] | undefined): ConversationListItem[] {
  const seen = new Set<number>();
  return (pages ?? []).flatMap((page) => page.items).filter((item) => !seen.has(item.id) && seen.add(item.id));
}

export function useConversation(id: number | null) {
  return useQuery({
    queryKey: conversationKeys.detail(id ?? 0),
    queryFn: () => api.getConversation(id ?? 0),
    enabled: id !== null,
  });
}

/** For other features: refresh the list (e.g. after a new message or an automatic title). */
export function useRefreshConversations() {
  const queryClient = useQueryClient();
  return (updated?: Pick<Conversation, "id" | "title">) => {
    if (updated) {
      queryClient.setQueryData<Conversation>(conversationKeys.detail(updated.id), (previous) =>
        previous ? { ...previous, title: updated.title } : previous,
      );
    }
    void queryClient.invalidateQueries({ queryKey: conversationKeys.all });
  };
}

export function useRenameConversation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, title }: { id: number; title: string }) => api.renameConversation(id, title),
    onSuccess: (conversation) => {
      queryClient.setQueryData(conversationKeys.detail(conversation.id), conversation);
      void queryClient.invalidateQueries({ queryKey: conversationKeys.all });
    },
  });
}

export function useUpdateConversationSettings() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, change }: { id: number; change: ConversationSettingsChange }) =>
      api.updateConversationSettings(id, change),
    onSuccess: (conversation) => queryClient.setQueryData(conversationKeys.detail(conversation.id), conversation),
  });
}

export function useDeleteConversation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => api.deleteConversation(id),
    onSuccess: (_result, id) => {
      queryClient.removeQueries({ queryKey: conversationKeys.detail(id) });
      void queryClient.invalidateQueries({ queryKey: conversationKeys.all });
    },
  });
}
