import { defineConfig } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

function freePort(): string {
  const script =
    "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})";
  return execFileSync(process.execPath, ["-e", script]).toString().trim();
}

// Workers load this file again: the port and data folder travel to them through the environment.
process.env.E2E_PORT ??= freePort();
process.env.E2E_GEMINI_PORT ??= freePort();
process.env.E2E_DATA_DIR ??= mkdtempSync(join(tmpdir(), "conversa-e2e-"));
const baseURL = `http://127.0.0.1:${process.env.E2E_PORT}`;

export default defineConfig({
  testDir: "./e2e",
  outputDir: "./test-results/artifacts",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 45_000,
  expect: { timeout: 10_000 },
  forbidOnly: Boolean(process.env.CI),
  reporter: [["list"], ["./e2e/summary-reporter.ts"]],
  globalTeardown: "./e2e/global-teardown.ts",
  use: {
    baseURL,
    locale: "en-US",
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: [
    {
      // The local fake of the Gemini API (tests/fakes/gemini_server.py): the Gemini models the backend
      // also offers answer from it, with thoughts and grounding when asked (its search suggestions
      // try to run script in the page: they must not).
      command: `../.venv/bin/python -m tests.fakes.gemini_server --port ${process.env.E2E_GEMINI_PORT} --chunk-delay 0.15 --hostile-entry-point`,
      cwd: resolve(here, "../backend"),
      port: Number(process.env.E2E_GEMINI_PORT),
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: "ignore",
      stderr: "pipe",
    },
    {
      // The real backend with the fake model, serving the SPA that `npm run build` just made.
      command: `../.venv/bin/python -m uvicorn app.main:app --host 127.0.0.1 --port ${process.env.E2E_PORT}`,
      cwd: resolve(here, "../backend"),
      url: `${baseURL}/api/health`,
      reuseExistingServer: false,
      timeout: 90_000,
      stdout: "ignore",
      stderr: "pipe",
      env: {
        ENV: "development",
        LLM_PROVIDER: "fake",
        // Fast replies; a test that acts while a reply streams asks for 30 ms a word (SLOW in e2e/helpers.ts).
        FAKE_LLM_DELAY_MS: "5",
        DATA_DIR: process.env.E2E_DATA_DIR,
        STATIC_DIR: resolve(here, "dist"),
        ALLOW_SIGNUP: "true",
        LOGIN_RATE_LIMIT: "1000/minute",
        LOGIN_IP_RATE_LIMIT: "1000/minute",
        CHAT_RATE_LIMIT: "1000/minute",
        LOG_LEVEL: "WARNING",
        // High enough that no other test reaches it; usage.spec.ts reads the count.
        USER_DAILY_MESSAGES: "1000",
        // Gemini models besides the default fake one, answered by the fake Gemini server above.
        GOOGLE_API_KEY: "e2e-fake-key",
        GEMINI_BASE_URL: `http://127.0.0.1:${process.env.E2E_GEMINI_PORT}`,
        LLM_MAX_RETRIES: "1",
      },
    },
  ],
});
