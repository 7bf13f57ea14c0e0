import { describe, expect, it } from "vitest";
import { ApiError } from "../../lib/api-client";
import { chatErrorFor, errorKeyFor, errorKeyForCode } from "./chat-errors";

const now = new Date("2026-11-27T20:00:00Z");
const retry = { type: "send", text: "hi" } as const;

describe("chatErrorFor", () => {
  it("shows the daily quota from the daily_quota code, with the reset time from Retry-After", () => {
    expect(chatErrorFor(new ApiError(429, "daily limit", 4 * 3600, "daily_quota"), retry, now)).toEqual({
      key: "quota",
      retry,
      retryAt: "2026-11-28T00:00:00.000Z",
    });
  });

  it("shows the token quota from the token_quota code, with its reset time", () => {
    expect(chatErrorFor(new ApiError(429, "tokens", 4 * 3600, "token_quota"), retry, now)).toEqual({
      key: "token_quota",
      retry,
      retryAt: "2026-11-28T00:00:00.000Z",
    });
    expect(chatErrorFor(new ApiError(429, "tokens", null, "token_quota"), retry, now).key).toBe("token_quota_no_time");
    expect(errorKeyForCode("token_quota")).toBe("token_quota_no_time");
  });

  it("says files are too large together from the files_too_large code, not as a long message", () => {
    expect(chatErrorFor(new ApiError(413, "23.4 MB together", null, "files_too_large"), retry, now).key).toBe(
      "files_too_large",
    );
    expect(chatErrorFor(new ApiError(413, "too long", null, null), retry, now).key).toBe("too_long");
  });

  it("does not guess the quota from a long Retry-After", () => {
    expect(chatErrorFor(new ApiError(429, "slow down", 4 * 3600, "rate_limited"), retry, now)).toEqual({
      key: "rate_limited",
      retry,
    });
  });

  it("still shows the quota when the server gives no reset time", () => {
    expect(chatErrorFor(new ApiError(429, "daily limit", null, "daily_quota"), retry, now)).toEqual({
      key: "quota_no_time",
      retry,
    });
  });

  it("falls back to the status for answers without a code", () => {
    expect(chatErrorFor(new ApiError(429, "slow down", 4 * 3600), retry, now)).toEqual({ key: "rate_limited", retry });
    expect(errorKeyFor(new ApiError(503, "busy"))).toBe("busy");
    expect(errorKeyFor(new ApiError(504, "slow"))).toBe("timeout");
    expect(errorKeyFor(new ApiError(404, "gone", null, "not_a_code_we_know"))).toBe("not_found");
  });

  it("reads the model and server codes", () => {
    expect(errorKeyFor(new ApiError(503, "busy", 5, "model_busy"))).toBe("busy");
    expect(errorKeyFor(new ApiError(503, "restarting", 5, "server_stopping"))).toBe("server_stopping");
    expect(errorKeyFor(new ApiError(503, "overloaded", 10, "overloaded"))).toBe("overloaded");
    expect(errorKeyFor(new ApiError(429, "provider", 30, "model_rate_limited"))).toBe("model_rate_limited");
  });

  it("tells a network failure from an answer", () => {
    expect(chatErrorFor(new TypeError("Failed to fetch"), retry, now)).toEqual({ key: "network", retry });
  });
});

describe("errorKeyForCode", () => {
  it("maps the stream's codes, old and new, to messages", () => {
    expect(errorKeyForCode("model_timeout")).toBe("timeout");
    expect(errorKeyForCode("timeout")).toBe("timeout");
    expect(errorKeyForCode("model_busy")).toBe("busy");
    expect(errorKeyForCode("model_error")).toBe("model_error");
    expect(errorKeyForCode("daily_quota")).toBe("quota_no_time");
    expect(errorKeyForCode("something_new")).toBe("internal");
  });
});
