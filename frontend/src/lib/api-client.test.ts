import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, apiFetch } from "./api-client";

afterEach(() => vi.unstubAllGlobals());

async function failureFor(response: Response): Promise<ApiError> {
  vi.stubGlobal("fetch", vi.fn(async () => response));
  const error: unknown = await apiFetch("/api/chat").catch((caught: unknown) => caught);
  if (!(error instanceof ApiError)) throw new Error("expected an ApiError");
  return error;
}

describe("apiFetch errors", () => {
  it("keep the body's detail and code and the Retry-After seconds", async () => {
    const error = await failureFor(
      new Response(JSON.stringify({ detail: "Daily limit reached", code: "daily_quota" }), {
        status: 429,
        headers: { "Retry-After": "3600" },
      }),
    );
    expect(error).toMatchObject({ status: 429, message: "Daily limit reached", code: "daily_quota", retryAfter: 3600 });
  });

  it("accept answers without a code", async () => {
    const error = await failureFor(new Response(JSON.stringify({ detail: "Slow down" }), { status: 429 }));
    expect(error).toMatchObject({ status: 429, message: "Slow down", code: null, retryAfter: null });
  });

  it("accept a body that is not JSON", async () => {
    const error = await failureFor(new Response("<html>Bad gateway</html>", { status: 502, statusText: "Bad Gateway" }));
    expect(error).toMatchObject({ status: 502, message: "502 Bad Gateway", code: null });
  });
});
