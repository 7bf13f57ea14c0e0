const TOKEN_KEY = "conversa.token";

export const API_BASE_URL: string = (import.meta.env.VITE_API_BASE_URL ?? "").replace(/\/$/, "");

export class ApiError extends Error {
  readonly status: number;
  readonly retryAfter: number | null;
  /** The machine-readable `code` of the error body (e.g. "daily_quota"); null from servers that send none. */
  readonly code: string | null;

  constructor(status: number, message: string, retryAfter: number | null = null, code: string | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.retryAfter = retryAfter;
    this.code = code;
  }
}

export function getToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string): void {
  localStorage.setItem(TOKEN_KEY, token);
}

export function clearToken(): void {
  localStorage.removeItem(TOKEN_KEY);
}

type UnauthorizedHandler = () => void;
let onUnauthorized: UnauthorizedHandler | null = null;

/** The auth feature registers what happens when the server rejects our token. */
export function setUnauthorizedHandler(handler: UnauthorizedHandler | null): void {
  onUnauthorized = handler;
}

/** Turns FastAPI's `{detail}` (a string or a list of validation errors) into one sentence. */
export function detailFromBody(body: unknown): string | null {
  if (!body || typeof body !== "object" || !("detail" in body)) return null;
  const detail = (body as { detail: unknown }).detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    const messages = detail
      .map((item) => (item && typeof item === "object" && "msg" in item ? String(item.msg) : null))
      .filter((msg): msg is string => Boolean(msg));
    return messages.length ? messages.join("; ") : null;
  }
  return null;
}

/** The error body's `code`, when it is a string. */
export function codeFromBody(body: unknown): string | null {
  if (!body || typeof body !== "object" || !("code" in body)) return null;
  const code = (body as { code: unknown }).code;
  return typeof code === "string" && code !== "" ? code : null;
}

async function errorFromResponse(response: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const retryAfter = Number(response.headers.get("Retry-After"));
  return new ApiError(
    response.status,
    detailFromBody(body) ?? `${response.status} ${response.statusText}`.trim(),
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
    codeFromBody(body),
  );
}

/** fetch with the bearer token; throws ApiError on a non-2xx answer. */
export async function apiFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = getToken();
  if (token) headers.set("Authorization", `Bearer ${token}`);
  if (init.body && typeof init.body === "string" && !headers.has("Content-Type")) {
    headers.set("Content-Type", "application/json");
  }
  const response = await fetch(`${API_BASE_URL}${path}`, { ...init, headers });
  if (response.ok) return response;
  if (response.status === 401 && token) {
    clearToken();
    onUnauthorized?.();
  }
  throw await errorFromResponse(response);
}

/** A public resource, fetched without the token (a shared link looks the same to everyone, and caches alike). */
export async function publicJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(`${API_BASE_URL}${path}`, init);
  if (!response.ok) throw await errorFromResponse(response);
  return (await response.json()) as T;
}

export async function apiJson<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const { json, ...rest } = init;
  const response = await apiFetch(path, json === undefined ? rest : { ...rest, body: JSON.stringify(json) });
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}
