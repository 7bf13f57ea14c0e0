import { defineConfig } from "@playwright/test";

// The stream-smoothness benchmark: not part of `npm test` or `npm run e2e` (its own folder and config).
export default defineConfig({
  testDir: ".",
  testMatch: "*.bench.ts",
  outputDir: "../test-results/bench",
  workers: 1,
  retries: 0,
  timeout: 20 * 60_000,
  reporter: [["list"]],
});
