import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import * as api from "./api";
import type { Conversation } from "./types";

export const conversationKeys = {
  all: ["conversations"] as const,
  list: (query: string) => ["conversations", "list", query] as const,
  detail: (id: number) => ["conversations", "detail", id] as const,
};

export function useConversationList(query: string) {
  return useQuery({
    queryKey: conversationKeys.list(query),
    queryFn: () => api.listConversations(query),
    placeholderData: (previous) => previous,
  });
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
