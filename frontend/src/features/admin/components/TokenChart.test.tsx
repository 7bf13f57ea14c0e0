import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { UsageRow } from "../types";
import { dailyTotals, niceMax, TokenChart } from "./TokenChart";

function row(key: string, input: number, output: number, titles = 0): UsageRow {
  return {
    key,
    user_id: null,
    messages: 1,
    input_tokens: input,
    output_tokens: output,
    title_input_tokens: titles,
    title_output_tokens: 0,
    cost_usd: null,
  };
}

describe("TokenChart", () => {
  it("fills every day of the range, with zeros where the report has no row", () => {
    const days = dailyTotals([row("2026-11-30", 10, 5, 2)], "2026-11-29", "2026-12-01");
    expect(days).toEqual([
      { day: "2026-11-29", input: 0, output: 0, titles: 0 },
      { day: "2026-11-30", input: 10, output: 5, titles: 2 },
      { day: "2026-12-01", input: 0, output: 0, titles: 0 },
    ]);
  });

  it("rounds the scale up to 1, 2 or 5 times a power of ten", () => {
    expect([0, 7, 12, 180, 2_001, 50_000].map(niceMax)).toEqual([1, 10, 20, 200, 5_000, 50_000]);
  });

  it("draws one stacked bar per day, its height from the tokens", () => {
    const days = dailyTotals([row("2026-11-30", 300, 100), row("2026-12-01", 100, 100)], "2026-11-30", "2026-12-01");
    render(<TokenChart days={days} />);
    const chart = screen.getByTestId("token-chart");
    expect(chart).toHaveAccessibleName(/total 600, highest day 400/);
    const bars = chart.querySelectorAll(".chart-bar");
    expect([...bars].map((bar) => bar.getAttribute("data-tokens"))).toEqual(["400", "200"]);
    const height = (bar: Element) =>
      [...bar.querySelectorAll("rect")].reduce((sum, rect) => sum + Number(rect.getAttribute("height")), 0);
    expect(height(bars[0]!)).toBeCloseTo(2 * height(bars[1]!), 5);
    expect(bars[1]!.querySelectorAll("rect")).toHaveLength(2); // no titles: no empty piece
  });
});
