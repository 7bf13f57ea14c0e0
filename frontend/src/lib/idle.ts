/**
 * Runs `callback` once the browser is idle (at the latest after `timeoutMs`), in a task of its own;
 * returns a function that cancels it. Where there is no requestIdleCallback (jsdom), the next task.
 */
export function whenIdle(callback: () => void, timeoutMs: number): () => void {
  if (typeof requestIdleCallback === "function") {
    const handle = requestIdleCallback(callback, { timeout: timeoutMs });
    return () => cancelIdleCallback(handle);
  }
  const handle = setTimeout(callback, 0);
  return () => clearTimeout(handle);
}
