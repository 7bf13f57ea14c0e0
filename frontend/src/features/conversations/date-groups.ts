import type { Conversation } from "./types";

export type DateGroup = "today" | "yesterday" | "last7Days" | "older";

const DAY_MS = 24 * 60 * 60 * 1000;

function startOfLocalDay(date: Date): number {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

export function dateGroupOf(iso: string, now: Date): DateGroup {
  const today = startOfLocalDay(now);
  const day = startOfLocalDay(new Date(iso));
  if (day >= today) return "today";
  if (day >= today - DAY_MS) return "yesterday";
  if (day >= today - 7 * DAY_MS) return "last7Days";
  return "older";
}

/** Groups conversations (already newest first) by their last activity, in a fixed order. */
export function groupByDate<T extends Conversation>(
  conversations: readonly T[],
  now: Date = new Date(),
): { group: DateGroup; items: T[] }[] {
  const order: DateGroup[] = ["today", "yesterday", "last7Days", "older"];
  const buckets = new Map<DateGroup, T[]>(order.map((group) => [group, []]));
  for (const conversation of conversations) {
    buckets.get(dateGroupOf(conversation.updated_at, now))?.push(conversation);
  }
  return order
    .map((group) => ({ group, items: buckets.get(group) ?? [] }))
    .filter((entry) => entry.items.length > 0);
}
