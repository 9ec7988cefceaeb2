#!/usr/bin/env node
// `npm start`: apply D1 migrations locally, build the SPA, serve SPA + API from one Worker with
// wrangler's local mode (D1, Durable Objects, queues), seed the demo workspace (idempotent), and
// fire the cron every minute, since local cron does not fire by itself.
import { seedDemo } from "./seed-demo.mjs";
import { spawn } from "node:child_process";
import { bin, devArgs, env, ensureDevVars, run, waitForServer } from "./lib.mjs";

const port = Number(process.env.PORT ?? 8787);
const base = `http://localhost:${port}`;
// Links in emails (unsubscribe) point at the app's public URL: this server unless PUBLIC_URL says otherwise.
const publicUrl = process.env.PUBLIC_URL ?? base;
const persist = process.env.SEQFLARE_STATE ?? ".wrangler/state";
const skipBuild = process.argv.includes("--no-build");

ensureDevVars();
console.log("» applying D1 migrations (local)");
await run(bin("wrangler"), ["d1", "migrations", "apply", "DB", "--local", "--persist-to", persist], { env: { ...env, CI: "true" } });
if (!skipBuild) {
  console.log("» building the web app");
  await run(bin("vite"), ["build", "--logLevel", "warn"]);
}

console.log(`» starting the Worker on ${base}`);
const dev = spawn(bin("wrangler"), devArgs({ port, persist, publicUrl, extra: ["--test-scheduled"] }), {
  stdio: ["ignore", "inherit", "inherit"],
  env,
});
const stop = () => {
  dev.kill("SIGINT");
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
dev.on("exit", (code) => process.exit(code ?? 1));

await waitForServer(`${base}/api/me`, 120_000);
console.log("» seeding the demo workspace (first start takes a little while)");
if (!(await seedDemo(base))) stop();

const tick = async () => {
  try {
    await fetch(`${base}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}`);
  } catch (err) {
    console.error("cron tick failed", err.message);
  }
};
setInterval(tick, 60_000);
console.log(
  `\n  Seqflare is running: ${base}\n  Sign in as admin@demo.test / demo1234 (also rep1@demo.test, rep2@demo.test, admin@rival.test)\n`,
);
