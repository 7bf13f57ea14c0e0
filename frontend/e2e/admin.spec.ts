import { expect, test, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { logIn, PASSWORD, sendAndWait, signUp, uniqueEmail } from "./helpers";

const backend = resolve(dirname(fileURLToPath(import.meta.url)), "../../backend");

/** An administrator made with the CLI against the e2e server's database (so no spec's order matters). */
function createAdmin(): string {
  const email = uniqueEmail("admin");
  execFileSync("../.venv/bin/python", ["-m", "app.cli", "create-user", email, "--password", PASSWORD, "--admin"], {
    cwd: backend,
    env: { ...process.env, DATA_DIR: process.env.E2E_DATA_DIR, ENV: "development", LOG_LEVEL: "WARNING" },
  });
  return email;
}

async function api(page: Page, path: string, init: { method?: string; token?: string; body?: unknown } = {}) {
  return page.evaluate(
    async ({ path, init }) => {
      const token = init.token ?? localStorage.getItem("conversa.token") ?? "";
      const response = await fetch(path, {
        method: init.method ?? "GET",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
      return { status: response.status, body: (await response.json().catch(() => null)) as unknown };
    },
    { path, init },
  );
}

test("a non-admin never sees the admin page, nor downloads it", async ({ page }) => {
  createAdmin(); // so the account below is not the instance's first (which becomes admin)
  const adminChunks: string[] = [];
  page.on("request", (request) => {
    if (/AdminPage-.*\.js/.test(request.url())) adminChunks.push(request.url());
  });
  await signUp(page);
  await expect(page.getByRole("link", { name: "Admin" })).toHaveCount(0);
  await page.goto("/admin");
  await expect(page.getByRole("textbox", { name: "Message" })).toBeVisible();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("heading", { name: "Administration" })).toHaveCount(0);
  expect((await api(page, "/api/admin/users")).status).toBe(403);
  expect((await api(page, "/api/admin/usage")).status).toBe(403);
  expect(adminChunks).toEqual([]);
});

test("an admin creates a user, disables them (their token fails at once) and deletes them", async ({ page }) => {
  const admin = createAdmin();
  await logIn(page, admin);
  await sendAndWait(page, "Some usage for today's bar");
  await page.getByRole("link", { name: "Admin" }).click();
  await expect(page.getByRole("heading", { name: "Administration" })).toBeVisible();

  // The chart draws the report's own numbers: today's bar carries today's tokens.
  const today = new Date().toISOString().slice(0, 10);
  const report = (await api(page, `/api/admin/usage?group=day&from=${today}&to=${today}`)).body as {
    rows: { input_tokens: number; output_tokens: number; title_input_tokens: number; title_output_tokens: number }[];
  };
  const [row] = report.rows;
  expect(row).toBeDefined();
  const tokens = row!.input_tokens + row!.output_tokens + row!.title_input_tokens + row!.title_output_tokens;
  expect(tokens).toBeGreaterThan(0);
  const chart = page.getByTestId("token-chart");
  await expect(chart).toBeVisible();
  await expect(chart.locator(".chart-bar")).toHaveCount(30);
  const bar = chart.locator(`.chart-bar[data-day="${today}"]`);
  await expect(bar).toHaveAttribute("data-tokens", String(tokens));
  expect(await bar.locator("rect").count()).toBeGreaterThan(0);
  await expect(page.getByTestId("usage-by-user").getByRole("rowheader", { name: admin })).toBeVisible();
  await expect(page.getByTestId("usage-by-model").getByRole("rowheader", { name: "fake" })).toBeVisible();

  // Create.
  const email = uniqueEmail("created");
  const form = page.locator("form", { has: page.getByRole("heading", { name: "Create a user" }) });
  await form.getByLabel("Email").fill(email);
  await form.getByLabel("Password (at least 8 characters)").fill(PASSWORD);
  await form.getByRole("button", { name: "Create" }).click();
  await expect(page.getByRole("status")).toHaveText(`Created ${email}.`);
  const login = await api(page, "/api/auth/login", { method: "POST", body: { email, password: PASSWORD } });
  expect(login.status).toBe(200);
  const token = (login.body as { access_token: string }).access_token;
  expect((await api(page, "/api/auth/me", { token })).status).toBe(200);

  // Disable: their token stops working at once.
  await page.getByLabel("Search by email").fill(email);
  const userRow = page.locator(`tr[data-email="${email}"]`);
  await expect(page.getByTestId("admin-users").locator("tbody tr")).toHaveCount(1);
  await userRow.getByRole("button", { name: "Disable" }).click();
  await expect(userRow.getByRole("cell", { name: "Disabled" })).toBeVisible();
  const refused = await api(page, "/api/auth/me", { token });
  expect(refused.status).toBe(401);
  const again = await api(page, "/api/auth/login", { method: "POST", body: { email, password: PASSWORD } });
  expect(again.status).toBe(401);

  // Make admin, then delete after typing the email.
  await userRow.getByRole("button", { name: "Make admin" }).click();
  await expect(userRow.getByRole("cell", { name: "Admin", exact: true })).toBeVisible();
  await userRow.getByRole("button", { name: "Delete" }).click();
  const dialog = page.getByRole("dialog", { name: `Delete ${email}?` });
  const confirm = dialog.getByRole("button", { name: "Delete for ever" });
  await expect(confirm).toBeDisabled();
  await dialog.getByLabel("Email").fill(email);
  await confirm.click();
  await expect(page.getByRole("status")).toHaveText(`Deleted ${email}.`);
  await expect(userRow).toHaveCount(0);
  expect((await api(page, "/api/admin/users?q=" + encodeURIComponent(email))).body).toEqual([]);
});

test("an admin changes a quota at run time and goes back to the environment's", async ({ page }) => {
  await logIn(page, createAdmin());
  await expect(page.getByRole("textbox", { name: "Message" })).toBeVisible();
  await page.goto("/admin");
  const field = page.getByRole("spinbutton", { name: /Tokens per user per day/ });
  await expect(field).toHaveValue("0");
  await field.fill("123456");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText("Saved.")).toBeVisible();
  expect(((await api(page, "/api/usage")).body as { daily_token_limit: number }).daily_token_limit).toBe(123456);
  await expect(page.getByText(/set here · environment: 0/)).toBeVisible();
  await page.getByRole("button", { name: "Use the environment's values" }).click();
  await expect(page.getByRole("spinbutton", { name: /Tokens per user per day/ })).toHaveValue("0");
  expect(((await api(page, "/api/usage")).body as { daily_token_limit: number | null }).daily_token_limit).toBeNull();
});
