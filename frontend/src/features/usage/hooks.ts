import { useQuery, useQueryClient } from "@tanstack/react-query";
import * as api from "./api";

export const usageKeys = {
  all: ["usage"] as const,
};

export function useUsage() {
  return useQuery({
    queryKey: usageKeys.all,
    queryFn: api.getUsage,
  });
}

/** For other features: refresh the usage (e.g. after a message was sent). */
export function useRefreshUsage() {
  const queryClient = useQueryClient();
  return () => {
    void queryClient.invalidateQueries({ queryKey: usageKeys.all });
  };
}
