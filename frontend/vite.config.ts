import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      "/api": { target: "http://127.0.0.1:8000", changeOrigin: false },
      // The OpenAI-compatible endpoint the API keys section points clients at (`<origin>/v1`).
      "/v1": { target: "http://127.0.0.1:8000", changeOrigin: false },
    },
  },
  build: {
    // Hashed file names (Vite default) let the CDN cache assets forever; index.html is never cached.
    reportCompressedSize: true,
    chunkSizeWarningLimit: 500,
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
    testTimeout: 15_000, // above the 5 s that findBy* may wait (src/test/setup.ts)
  },
});
