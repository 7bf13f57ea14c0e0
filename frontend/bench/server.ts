import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export interface Backend {
  url: string;
  stop: () => Promise<void>;
}

/** The real backend with the fake model, serving the built SPA, as playwright.config.ts starts it. */
export async function startBackend(dataDir: string, fakeDelayMs: number): Promise<Backend> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    "../.venv/bin/python",
    ["-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", String(port), "--log-level", "warning"],
    {
      cwd: resolve(here, "../../backend"),
      stdio: ["ignore", "ignore", "inherit"],
      env: {
        ...process.env,
        ENV: "development",
        LLM_PROVIDER: "fake",
        FAKE_LLM_DELAY_MS: String(fakeDelayMs),
        DATA_DIR: dataDir,
        STATIC_DIR: process.env.BENCH_STATIC_DIR ?? resolve(here, "../dist"),
        ALLOW_SIGNUP: "true",
        LOGIN_RATE_LIMIT: "1000/minute",
        LOGIN_IP_RATE_LIMIT: "1000/minute",
        CHAT_RATE_LIMIT: "10000/minute",
        USER_DAILY_MESSAGES: "0",
        MAX_MESSAGE_CHARS: "64000",
        LOG_LEVEL: "WARNING",
      },
    },
  );
  const exited = new Promise<void>((resolveExit) => child.once("exit", () => resolveExit()));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the backend exited with code ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/api/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error("the backend did not start within 120 s");
    await new Promise((wake) => setTimeout(wake, 200));
  }
  return {
    url,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
