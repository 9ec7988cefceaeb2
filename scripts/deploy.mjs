#!/usr/bin/env node
// `npm run deploy`: the real Cloudflare deployment. Needs CLOUDFLARE_API_TOKEN (and
// CLOUDFLARE_ACCOUNT_ID when the token reaches several accounts). Steps, each safe to repeat:
//   1. create the D1 database `seqflare` if missing and write its id into wrangler.toml;
//   2. create the queues `seqflare-jobs` and `seqflare-jobs-dlq` if missing;
//   3. set the APP_SECRET secret if it is not set yet (random, 32 bytes);
//   4. build the SPA (served by the Worker's static assets: one origin, no CORS);
//   5. apply D1 migrations remotely; 6. deploy the Worker (API, Durable Objects, queues, cron).
// PUBLIC_URL (the app's https address, for the links in emails) is required.
// With `--pages` (npm run deploy -- --pages), also: 7. deploy the built SPA as the Cloudflare Pages
// project in pages/ (created if missing), whose Functions forward /api/*, /apollo/* and /unsubscribe/*
// to the Worker through a service binding: one origin either way.
// Production seeds nothing: the demo seed route only exists when APP_ENV=local.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { bin, env, run } from "./lib.mjs";
import { pagesPlan } from "./pages.mjs";

const pages = process.argv.includes("--pages");

const wrangler = (args, opts = {}) => execFileSync(bin("wrangler"), args, { env, encoding: "utf8", ...opts });

// Every email's unsubscribe link (and List-Unsubscribe header) is built on PUBLIC_URL, and Gmail and
// Yahoo honour one-click unsubscribe only over https. The Worker refuses to compose emails in
// production without it, so a deploy without it stops here, before anything changes. It is passed on
// every deploy (`--var`): wrangler drops vars the config doesn't hold.
const publicUrlProblem = (() => {
  const u = process.env.PUBLIC_URL;
  if (!u) return "PUBLIC_URL is not set";
  try {
    if (new URL(u).protocol !== "https:") return `PUBLIC_URL must be an https:// address (it is ${u})`;
  } catch {
    return `PUBLIC_URL is not a URL (${u})`;
  }
  return null;
})();
if (publicUrlProblem) {
  console.error(
    `${publicUrlProblem}: set it to the app's address (custom domain or workers.dev), e.g. PUBLIC_URL=https://seqflare.example.com npm run deploy`,
  );
  process.exit(1);
}

if (!process.env.CLOUDFLARE_API_TOKEN) {
  console.error("Set CLOUDFLARE_API_TOKEN (a token with Workers, D1, Queues and Secrets edit rights) and run again.");
  process.exit(1);
}

const toml = readFileSync("wrangler.toml", "utf8");
const dbs = JSON.parse(wrangler(["d1", "list", "--json"]));
let db = dbs.find((d) => d.name === "seqflare");
if (!db) {
  console.log("» creating D1 database seqflare");
  wrangler(["d1", "create", "seqflare"], { stdio: "inherit" });
  db = JSON.parse(wrangler(["d1", "list", "--json"])).find((d) => d.name === "seqflare");
}
writeFileSync("wrangler.toml", toml.replace(/database_id = "[^"]*"/, `database_id = "${db.uuid}"`));

const queues = wrangler(["queues", "list"]);
for (const q of ["seqflare-jobs", "seqflare-jobs-dlq"]) {
  if (!queues.includes(q)) {
    console.log(`» creating queue ${q}`);
    await run(bin("wrangler"), ["queues", "create", q]);
  }
}

const secrets = (() => {
  try {
    return JSON.parse(wrangler(["secret", "list", "--format", "json"]));
  } catch {
    return []; // the Worker does not exist yet
  }
})();

console.log("» building the web app");
await run(bin("vite"), ["build"]);
console.log("» applying D1 migrations (remote)");
await run(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--remote"], { env: { ...env, CI: "true" } });
console.log("» deploying the Worker");
// Links in emails (unsubscribe) use PUBLIC_URL: the app's real address (checked at the top).
await run(bin("wrangler"), ["deploy", "--var", `PUBLIC_URL:${process.env.PUBLIC_URL}`]);
if (!secrets.some((s) => s.name === "APP_SECRET")) {
  console.log("» setting APP_SECRET");
  execFileSync(bin("wrangler"), ["secret", "put", "APP_SECRET"], {
    env,
    input: randomBytes(32).toString("hex"),
    stdio: ["pipe", "inherit", "inherit"],
  });
}
if (pages) {
  const plan = pagesPlan({ publicUrl: process.env.PUBLIC_URL });
  console.log(`» deploying the SPA to Cloudflare Pages (project ${plan.project})`);
  rmSync("pages/dist", { recursive: true, force: true });
  cpSync("web/dist", "pages/dist", { recursive: true });
  const projects = (() => {
    try {
      return JSON.parse(wrangler(["pages", "project", "list", "--json"]));
    } catch {
      return [];
    }
  })();
  if (!projects.some((p) => (p.name ?? p["Project Name"]) === plan.project)) {
    console.log(`» creating Pages project ${plan.project}`);
    await run(bin("wrangler"), ["pages", "project", "create", plan.project, "--production-branch", "main"], { cwd: "pages" });
  }
  await run(bin("wrangler"), plan.deployArgs, { cwd: "pages" });
  for (const w of plan.warnings) console.warn(`» ${w}`);
}
console.log("» deployed");
