// Shared by the browser tests: start Debian's Chromium (or CHROMIUM_PATH, which scripts/test-browser.mjs
// sets after finding or installing it) through playwright-core (never downloads a browser) against a running Seqflare (`npm start`, or SEQFLARE_URL).
import { chromium } from "playwright-core";

export const baseUrl = process.env.SEQFLARE_URL || "http://localhost:8787";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** A fresh browser and page (its own cookie jar). Close `browser` in `after`/`finally`. */
export async function launch({ width = 1440, height = 900 } = {}) {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium", args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width, height } });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  return { browser, page, baseUrl };
}

/** Sign in through the form, as a person would, and wait for the app frame. */
export async function signIn(page, email, password = "demo1234") {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel("Work email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}

/** The pathname the page is on now. */
export const pathOf = (page) => new URL(page.url()).pathname;

/** The number a locator shows, digits only ("1,234 contacts" → 1234). */
export const number = async (locator) => Number(((await locator.textContent()) ?? "").replace(/[^\d]/g, ""));

/** The API as the signed-in page calls it (its cookie and CSRF token): `api("POST", "/lists", {…})` → { status, body }. */
export const pageApi = (page) => (method, path, body) =>
  page.evaluate(
    async ([m, p, b]) => {
      const me = await (await fetch("/api/me")).json();
      const res = await fetch(`/api${p}`, {
        method: m,
        headers: { "x-csrf-token": me.csrf_token, ...(b ? { "content-type": "application/json" } : {}) },
        body: b ? JSON.stringify(b) : undefined,
      });
      return { status: res.status, body: await res.json() };
    },
    [method, path, body],
  );
