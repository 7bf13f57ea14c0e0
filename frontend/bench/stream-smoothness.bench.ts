/**
 * How smooth the web app stays while a long reply streams into a long conversation.
 *
 * The real backend with the fake model (FAKE_LLM_DELAY_MS=20: 50 tokens/s), a conversation of
 * BENCH_MESSAGES messages with code blocks and tables, then BENCH_RUNS times: open it in a fresh
 * page, load every message, regenerate the last reply (~BENCH_TOKENS tokens) and type in the
 * composer while it streams. Chromium measures long tasks (PerformanceObserver 'longtask'),
 * main-thread time (CDP Performance.getMetrics) and input delay (Event Timing + a keydown probe).
 * A benchmark, not a test: it prints figures and never fails on them.
 */
import { chromium, test, type Browser } from "@playwright/test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { longMessage, seedMessage, tokenCount } from "./content";
import { startBackend } from "./server";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200);
const TOKENS = Number(process.env.BENCH_TOKENS ?? 2000);
const DELAY_MS = Number(process.env.BENCH_DELAY_MS ?? 20);
const TYPE_EVERY_MS = 150;
// BENCH_PROFILE=cpu: each run also writes a CPU profile of the stream (stream-N.cpuprofile); =trace: a
// Chromium trace (stream-N.trace.json, timeline categories). Both open in DevTools' Performance panel.
const PROFILE = process.env.BENCH_PROFILE ?? "";
const here = dirname(fileURLToPath(import.meta.url));
const OUT_DIR = join(here, "..", "test-results", "bench");

interface RunFigures {
  tokens: number;
  streamSeconds: number;
  longTasksOver50ms: number;
  longestTaskMs: number;
  scriptMsPer100Tokens: number;
  taskMsPer100Tokens: number;
  layoutMsPer100Tokens: number;
  styleMsPer100Tokens: number;
  mainThreadBusy: number;
  keys: number;
  inputDelayP95Ms: number;
  inputDelayMaxMs: number;
  eventTimingKeydownP95Ms: number;
  /** How far the first message moved on screen when older ones loaded (0: the view kept its place). */
  olderShiftPx: number;
  /** The long tasks over 50 ms: when (ms after the click on Regenerate) and how long. */
  longTasks: string;
  /** Sampled while streaming: how far the view was from the bottom (small: it followed the stream). */
  farthestFromBottomPx: number;
  /** Main-thread CPU time per 100 tokens (CDP `ThreadTime`): unlike the wall-clock figures, other processes hardly change it. */
  threadMsPer100Tokens: number;
  /** From a trace of the stream: the main thread's tasks that used over 50 ms of its CPU time, and the most one used. */
  tasksOver50msCpu: number;
  longestTaskCpuMs: number;
  /** The animation frames over 50 ms (Long Animation Frames): when, how long, and the scripts that ran in them. */
  longFrames: LongFrame[];
}

interface LongFrame {
  start: number;
  duration: number;
  /** From the frame's start: when rendering began, and style and layout within it. */
  renderStart: number;
  styleAndLayoutStart: number;
  scripts: { invoker: string; source: string; duration: number; forcedLayout: number }[];
}

/** The Long Animation Frames API's entries, as Chromium reports them (not in TypeScript's DOM types yet). */
interface LoafEntry extends PerformanceEntry {
  renderStart: number;
  styleAndLayoutStart: number;
  scripts: {
    invoker: string;
    sourceURL: string;
    sourceFunctionName: string;
    sourceCharPosition: number;
    duration: number;
    forcedStyleAndLayoutDuration: number;
  }[];
}

declare global {
  interface Window {
    __bench: {
      longTasks: { start: number; duration: number }[];
      keyEvents: { start: number; delay: number }[];
      probeDelays: { start: number; delay: number }[];
      longFrames: LongFrame[];
    };
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  dur?: number;
  tdur?: number;
  args?: { name?: string };
}

/** The CPU time (ms) of each task of the page's main thread in a trace: the renderer main thread with the most tasks. */
function mainThreadTaskCpuMs(trace: Buffer): number[] {
  const parsed = JSON.parse(trace.toString()) as { traceEvents: TraceEvent[] } | TraceEvent[];
  const events = Array.isArray(parsed) ? parsed : parsed.traceEvents;
  const mains = new Set(
    events.filter((e) => e.name === "thread_name" && e.args?.name === "CrRendererMain").map((e) => `${e.pid}:${e.tid}`),
  );
  const tasks = new Map<string, number[]>();
  for (const e of events) {
    const thread = `${e.pid}:${e.tid}`;
    if (e.ph !== "X" || e.name !== "RunTask" || !mains.has(thread)) continue;
    const list = tasks.get(thread) ?? [];
    list.push((e.tdur ?? 0) / 1000);
    tasks.set(thread, list);
  }
  return [...tasks.values()].sort((a, b) => b.length - a.length)[0] ?? [];
}

function median(values: number[]): number {
  return percentile(values, 50);
}

async function api<T>(url: string, path: string, token: string | null, body?: unknown): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Seeds the conversation with a server that answers at once, so only the measured stream is slow. */
async function seed(dataDir: string): Promise<{ token: string; conversationId: number }> {
  const backend = await startBackend(dataDir, 0);
  try {
    const credentials = { email: "bench@example.com", password: "correct horse 42" };
    await api(backend.url, "/api/auth/register", null, credentials);
    const { access_token: token } = await api<{ access_token: string }>(backend.url, "/api/auth/login", null, credentials);
    let conversationId: number | undefined;
    for (let index = 1; index < MESSAGES / 2; index++) {
      const out = await api<{ conversation_id: number }>(backend.url, "/api/chat", token, {
        conversation_id: conversationId,
        message: seedMessage(index),
      });
      conversationId = out.conversation_id;
    }
    // The last exchange asks for the long reply; every run regenerates it.
    await api(backend.url, "/api/chat", token, { conversation_id: conversationId, message: longMessage(TOKENS) });
    return { token, conversationId: conversationId ?? 0 };
  } finally {
    await backend.stop();
  }
}

async function measureOnce(
  browser: Browser,
  url: string,
  token: string,
  conversationId: number,
  run: number,
): Promise<RunFigures> {
  const context = await browser.newContext({ baseURL: url, locale: "en-US", viewport: { width: 1280, height: 800 } });
  await context.addInitScript((value) => {
    localStorage.setItem("conversa.token", value);
    window.__bench = { longTasks: [], keyEvents: [], probeDelays: [], longFrames: [] };
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.__bench.longTasks.push({ start: entry.startTime, duration: entry.duration });
    }).observe({ type: "longtask", buffered: true });
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries() as LoafEntry[]) {
        if (entry.duration <= 50) continue;
        window.__bench.longFrames.push({
          start: entry.startTime,
          duration: entry.duration,
          renderStart: entry.renderStart ? entry.renderStart - entry.startTime : 0,
          styleAndLayoutStart: entry.styleAndLayoutStart ? entry.styleAndLayoutStart - entry.startTime : 0,
          scripts: entry.scripts.map((script) => ({
            invoker: script.invoker,
            source: `${script.sourceFunctionName || "?"} ${script.sourceURL.split("/").pop() ?? ""}:${script.sourceCharPosition}`,
            duration: script.duration,
            forcedLayout: script.forcedStyleAndLayoutDuration,
          })),
        });
      }
    }).observe({ type: "long-animation-frame", buffered: true });
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries() as PerformanceEventTiming[]) {
        if (entry.name === "keydown") {
          window.__bench.keyEvents.push({ start: entry.startTime, delay: entry.processingStart - entry.startTime });
        }
      }
    }).observe({ type: "event", durationThreshold: 16, buffered: true } as PerformanceObserverInit);
    // Event Timing reports only events over 16 ms; this probe sees every key (the first listener to run).
    addEventListener(
      "keydown",
      (event) => window.__bench.probeDelays.push({ start: event.timeStamp, delay: performance.now() - event.timeStamp }),
      { capture: true },
    );
  }, token);
  context.setDefaultTimeout(120_000);
  const page = await context.newPage();
  try {
    await page.goto(`/c/${conversationId}`);
    const loadOlder = page.getByRole("button", { name: "Load earlier messages" });
    const messages = page.locator("article.message");
    await messages.first().waitFor();
    let olderShiftPx = 0;
    while (await loadOlder.isVisible()) {
      const before = await messages.count();
      await loadOlder.scrollIntoViewIfNeeded();
      const firstId = await messages.first().getAttribute("data-message-id");
      const top = await messages.first().evaluate((element) => element.getBoundingClientRect().top);
      await loadOlder.click();
      await page.waitForFunction((n) => document.querySelectorAll("article.message").length > n, before);
      // Loading older messages must leave the message that was first where it was on screen.
      const same = page.locator(`article.message[data-message-id="${firstId}"]`);
      if (firstId !== null && (await same.count()) === 1) {
        olderShiftPx = Math.max(olderShiftPx, Math.abs((await same.evaluate((element) => element.getBoundingClientRect().top)) - top));
      }
    }
    await page.waitForFunction(
      (n) => document.querySelectorAll("article.message.assistant .markdown").length >= n,
      MESSAGES / 2,
    );
    await page.waitForTimeout(2000); // let lazy chunks and highlighting settle before measuring

    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable");
    const metrics = async () => {
      const { metrics: list } = await cdp.send("Performance.getMetrics");
      return Object.fromEntries(list.map((metric) => [metric.name, metric.value]));
    };
    if (PROFILE) mkdirSync(OUT_DIR, { recursive: true });
    // Always a light trace (the main thread's tasks with their CPU time); BENCH_PROFILE=trace: the timeline too, saved.
    await browser.startTracing(page, {
      ...(PROFILE === "trace" ? { path: join(OUT_DIR, `stream-${run + 1}.trace.json`) } : {}),
      categories:
        PROFILE === "trace"
          ? ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8.execute", "blink.user_timing"]
          : ["disabled-by-default-devtools.timeline"],
    });
    if (PROFILE === "cpu") {
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.setSamplingInterval", { interval: 500 });
      await cdp.send("Profiler.start");
    }
    const before = await metrics();
    const t0 = await page.evaluate(() => performance.now());
    // Between the click and the end of the stream, only CSS locators and one MutationObserver: Playwright's
    // role queries walk the accessibility of every element of a 200-message page on its main thread
    // (100-300 ms each, a dozen for one click's checks, and polled while waiting), which the figures would count.
    await page.locator('article.message.assistant button[aria-label="Regenerate reply"]').last().click();
    await page.locator("form.composer button.stop").waitFor({ state: "attached", timeout: 60_000 });
    await page.locator("#composer-input").focus();
    let streaming = true;
    // Resolves when the Stop button leaves the composer (the stream ended), without polling the page.
    const finished = page
      .evaluate(
        () =>
          new Promise<void>((resolve) => {
            const composer = document.querySelector("form.composer");
            if (!composer?.querySelector("button.stop")) return resolve();
            const observer = new MutationObserver(() => {
              if (composer.querySelector("button.stop")) return;
              observer.disconnect();
              resolve();
            });
            observer.observe(composer, { childList: true, subtree: true });
          }),
      )
      .then(() => {
        streaming = false;
      });
    let keys = 0;
    let farthestFromBottomPx = 0;
    const scroller = page.locator(".message-scroller");
    while (streaming) {
      await page.keyboard.press("KeyA");
      keys += 1;
      if (keys % 10 === 0) {
        const distance = await scroller.evaluate((element) => element.scrollHeight - element.scrollTop - element.clientHeight);
        farthestFromBottomPx = Math.max(farthestFromBottomPx, distance);
      }
      await Promise.race([finished, new Promise((wake) => setTimeout(wake, TYPE_EVERY_MS))]);
    }
    await finished;
    const t1 = await page.evaluate(() => performance.now());
    const after = await metrics();
    const taskCpuMs = mainThreadTaskCpuMs(await browser.stopTracing());
    if (PROFILE === "cpu") {
      const { profile } = await cdp.send("Profiler.stop");
      writeFileSync(join(OUT_DIR, `stream-${run + 1}.cpuprofile`), JSON.stringify(profile));
    }

    const page1 = await api<{ items: { content: string }[] }>(
      url,
      `/api/conversations/${conversationId}/messages?limit=1`,
      token,
    );
    const tokens = tokenCount(page1.items[0]?.content ?? "");
    const bench = await page.evaluate(() => window.__bench);
    const during = <T extends { start: number }>(entries: T[]) => entries.filter((e) => e.start >= t0 && e.start <= t1);
    const longTasks = during(bench.longTasks);
    const probe = during(bench.probeDelays).map((entry) => entry.delay);
    const timed = during(bench.keyEvents).map((entry) => entry.delay);
    // Keys Event Timing left out took under 16 ms in all: count them as 0 ms of delay.
    const eventTiming = [...timed, ...new Array<number>(Math.max(0, probe.length - timed.length)).fill(0)];
    const delta = (name: string) => ((after[name] ?? 0) - (before[name] ?? 0)) * 1000;
    const wallMs = t1 - t0;
    return {
      tokens,
      streamSeconds: wallMs / 1000,
      longTasksOver50ms: longTasks.filter((task) => task.duration > 50).length,
      longestTaskMs: Math.max(0, ...longTasks.map((task) => task.duration)),
      scriptMsPer100Tokens: (delta("ScriptDuration") / tokens) * 100,
      taskMsPer100Tokens: (delta("TaskDuration") / tokens) * 100,
      layoutMsPer100Tokens: (delta("LayoutDuration") / tokens) * 100,
      styleMsPer100Tokens: (delta("RecalcStyleDuration") / tokens) * 100,
      mainThreadBusy: delta("TaskDuration") / wallMs,
      threadMsPer100Tokens: (delta("ThreadTime") / tokens) * 100,
      tasksOver50msCpu: taskCpuMs.filter((ms) => ms > 50).length,
      longestTaskCpuMs: Math.max(0, ...taskCpuMs),
      keys,
      inputDelayP95Ms: percentile(probe, 95),
      inputDelayMaxMs: Math.max(0, ...probe),
      eventTimingKeydownP95Ms: percentile(eventTiming, 95),
      olderShiftPx,
      farthestFromBottomPx,
      longTasks: longTasks
        .filter((task) => task.duration > 50)
        .map((task) => `${Math.round(task.start - t0)}:${Math.round(task.duration)}`)
        .join(" "),
      longFrames: during(bench.longFrames).map((frame) => ({ ...frame, start: frame.start - t0 })),
    };
  } finally {
    await context.close();
  }
}

test("stream smoothness in a long conversation", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "conversa-bench-"));
  const loadBefore = loadavg()[0] ?? 0;
  try {
    const { token, conversationId } = await seed(dataDir);
    console.log(`seeded a conversation of ${MESSAGES} messages`);
    const backend = await startBackend(dataDir, DELAY_MS);
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    });
    const runs: RunFigures[] = [];
    try {
      for (let run = 0; run < RUNS; run++) {
        const figures = await measureOnce(browser, backend.url, token, conversationId, run);
        const { longFrames, ...shown } = figures;
        console.log(`run ${run + 1}:`, JSON.stringify(shown, (_key, value: unknown) => (typeof value === "number" ? Math.round(value * 100) / 100 : value)));
        for (const frame of longFrames) {
          const scripts = frame.scripts.map((script) => `${script.invoker} → ${script.source} ${Math.round(script.duration)} ms`);
          console.log(
            `  long frame at ${Math.round(frame.start)} ms: ${Math.round(frame.duration)} ms (render from ${Math.round(frame.renderStart)}, style+layout from ${Math.round(frame.styleAndLayoutStart)}); ${scripts.join("; ") || "no script"}`,
          );
        }
        runs.push(figures);
      }
    } finally {
      await browser.close();
      await backend.stop();
    }
    const summary = Object.fromEntries(
      Object.keys(runs[0] ?? {})
        .filter((key) => key !== "longTasks" && key !== "longFrames")
        .map((key) => [key, median(runs.map((run) => Number(run[key as keyof RunFigures])))]),
    );
    const report = {
      messages: MESSAGES,
      tokensPerSecond: 1000 / DELAY_MS,
      runs,
      median: summary,
      loadAverage: { before: loadBefore, after: loadavg()[0] ?? 0 },
      cpus: (await import("node:os")).cpus().length,
    };
    mkdirSync(OUT_DIR, { recursive: true });
    writeFileSync(join(OUT_DIR, "stream-smoothness.json"), JSON.stringify(report, null, 2));
    console.log("median:", JSON.stringify(summary, (_key, value: unknown) => (typeof value === "number" ? Math.round(value * 100) / 100 : value), 2));
    console.log(`load average (1 min): ${report.loadAverage.before.toFixed(2)} before, ${report.loadAverage.after.toFixed(2)} after`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
