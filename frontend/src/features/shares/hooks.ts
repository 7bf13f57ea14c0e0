import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import * as api from "./api";

export const shareKeys = {
  all: ["shares"] as const,
  shared: (shareId: string) => ["shared", shareId] as const,
};

export function useShares(enabled = true) {
  return useQuery({ queryKey: shareKeys.all, queryFn: api.listShares, enabled });
}

/** The link of one conversation, if it has one (from the list of the user's links). */
export function useConversationShare(conversationId: number, enabled: boolean) {
  const shares = useShares(enabled);
  return { ...shares, data: shares.data?.find((share) => share.conversation_id === conversationId) };
}

export function useShareConversation() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: api.shareConversation,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: shareKeys.all }),
  });
}

export function useRevokeShare() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: api.revokeShare,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: shareKeys.all }),
  });
}

export function useShared(shareId: string) {
  return useQuery({ queryKey: shareKeys.shared(shareId), queryFn: () => api.getShared(shareId), staleTime: 60_000 });
}
