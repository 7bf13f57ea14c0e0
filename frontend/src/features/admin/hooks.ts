import { useQuery } from "@tanstack/react-query";
import * as api from "./api";
import type { UsageGroup } from "./types";

export const adminKeys = {
  users: (search: string) => ["admin", "users", search] as const,
  allUsers: ["admin", "users"] as const,
  usage: (group: UsageGroup, from: string, to: string) => ["admin", "usage", group, from, to] as const,
  allUsage: ["admin", "usage"] as const,
  settings: ["admin", "settings"] as const,
};

/** The last 30 UTC days, today included (YYYY-MM-DD). */
export function last30Days(now: Date = new Date()): { from: string; to: string } {
  const to = now.toISOString().slice(0, 10);
  const from = new Date(now.getTime() - 29 * 86_400_000).toISOString().slice(0, 10);
  return { from, to };
}

export function useUsageReport(group: UsageGroup, from: string, to: string) {
  return useQuery({ queryKey: adminKeys.usage(group, from, to), queryFn: () => api.usageReport(group, from, to) });
}
