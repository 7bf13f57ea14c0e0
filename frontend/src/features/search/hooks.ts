import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { searchMessages } from "./api";

export const SEARCH_PAGE_SIZE = 20;

export function useMessageSearch(query: string) {
  const trimmed = query.trim();
  return useQuery({
    queryKey: ["search", trimmed],
    queryFn: () => searchMessages(trimmed, SEARCH_PAGE_SIZE),
    enabled: trimmed.length > 0,
    placeholderData: keepPreviousData,
    staleTime: 10_000,
  });
}
