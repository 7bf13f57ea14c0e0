import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { formatTime } from "../../../lib/format";
import type { Usage } from "../types";
import { UsageSummary } from "./DailyUsage";

const RESETS_AT = "2026-01-02T00:00:00Z";

function usage(used: number, limit: number | null, tokens = 0, tokenLimit: number | null = null): Usage {
  return {
    daily_messages_used: used,
    daily_message_limit: limit,
    resets_at: RESETS_AT,
    tokens_today: tokens,
    tokens_this_month: tokens,
    daily_token_limit: tokenLimit,
    monthly_token_limit: null,
    month_resets_at: "2026-02-01T00:00:00Z",
  };
}

describe("UsageSummary", () => {
  it("renders nothing when the server has no daily quota", () => {
    const { container } = render(<UsageSummary usage={usage(3, null)} />);
    expect(container).toBeEmptyDOMElement();
  });

  it("renders nothing while the usage is loading", () => {
    const { container } = render(<UsageSummary usage={undefined} />);
    expect(container).toBeEmptyDOMElement();
  });

  it("shows the messages used against the limit", () => {
    render(<UsageSummary usage={usage(3, 50)} />);
    const line = screen.getByTestId("daily-usage");
    expect(line).toHaveTextContent("Messages today: 3 of 50");
    expect(line).not.toHaveClass("usage-limit");
  });

  it("formats the numbers for the language", () => {
    render(<UsageSummary usage={usage(1200, 5000)} />);
    expect(screen.getByTestId("daily-usage")).toHaveTextContent("Messages today: 1,200 of 5,000");
  });

  it("warns with the reset time once the limit is reached", () => {
    render(<UsageSummary usage={usage(50, 50)} />);
    const line = screen.getByTestId("daily-usage");
    expect(line).toHaveClass("usage-limit");
    expect(line).toHaveTextContent(
      `Daily limit reached: 50 of 50 messages. It resets at ${formatTime(RESETS_AT, "en")}.`,
    );
  });

  it("shows the tokens used today against a daily token quota, with or without a message quota", () => {
    const { unmount } = render(<UsageSummary usage={usage(3, null, 12_345, 50_000)} />);
    expect(screen.getByTestId("tokens-today")).toHaveTextContent("Tokens today: 12,345 of 50,000");
    expect(screen.queryByTestId("daily-usage")).toBeNull();
    unmount();
    render(<UsageSummary usage={usage(3, 50, 10, 100)} />);
    expect(screen.getByTestId("daily-usage")).toHaveTextContent("Messages today: 3 of 50");
    expect(screen.getByTestId("tokens-today")).toHaveTextContent("Tokens today: 10 of 100");
  });
});
