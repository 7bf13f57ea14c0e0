import { describe, expect, it } from "vitest";
import { dateGroupOf, groupByDate } from "./date-groups";
import type { Conversation } from "./types";

const now = new Date(2026, 10, 27, 10, 0); // 27 Nov 2026, 10:00 local time

function at(year: number, month: number, day: number, hour = 12): string {
  return new Date(year, month, day, hour).toISOString();
}

function conversation(id: number, updatedAt: string): Conversation {
  return { id, title: `c${id}`, created_at: updatedAt, updated_at: updatedAt };
}

describe("dateGroupOf", () => {
  it("uses local calendar days", () => {
    expect(dateGroupOf(at(2026, 10, 27, 0), now)).toBe("today");
    expect(dateGroupOf(at(2026, 10, 27, 23), now)).toBe("today");
    expect(dateGroupOf(at(2026, 10, 26, 23), now)).toBe("yesterday");
    expect(dateGroupOf(at(2026, 10, 26, 0), now)).toBe("yesterday");
    expect(dateGroupOf(at(2026, 10, 25), now)).toBe("last7Days");
    expect(dateGroupOf(at(2026, 10, 20), now)).toBe("last7Days");
    expect(dateGroupOf(at(2026, 10, 19), now)).toBe("older");
    expect(dateGroupOf(at(2025, 0, 1), now)).toBe("older");
  });
});

describe("groupByDate", () => {
  it("keeps the order of the groups and of the conversations, dropping empty groups", () => {
    const groups = groupByDate(
      [
        conversation(1, at(2026, 10, 27, 9)),
        conversation(2, at(2026, 10, 27, 8)),
        conversation(3, at(2026, 10, 22)),
        conversation(4, at(2026, 9, 1)),
      ],
      now,
    );
    expect(groups.map((group) => [group.group, group.items.map((item) => item.id)])).toEqual([
      ["today", [1, 2]],
      ["last7Days", [3]],
      ["older", [4]],
    ]);
  });

  it("returns nothing for no conversations", () => {
    expect(groupByDate([], now)).toEqual([]);
  });
});
