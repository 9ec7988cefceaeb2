#!/usr/bin/env node
// Browser tests: start the app on its own port with a fresh local state (migrations + demo seed, as
// `npm start` does), run the headless-Chromium tests in test/browser/ against it, stop it.
// Chromium comes from Debian: when /usr/bin/chromium is missing and we run as root with apt-get, it is
// installed (saying so); otherwise the run stops with how to install it (scripts/chromium.mjs).
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { ensureChromium } from "./chromium.mjs";
import { env, run, waitForServer } from "./lib.mjs";

let chromiumPath;
try {
  chromiumPath = ensureChromium();
} catch (err) {
  console.error(`\n${err.message}\n`);
  process.exit(1);
}

const port = Number(process.env.BROWSER_TEST_PORT ?? 8791);
// One state directory per port, so two runs on different ports don't share (and wipe) one.
const state = port === 8791 ? ".wrangler/browser-test-state" : `.wrangler/browser-test-state-${port}`;
rmSync(state, { recursive: true, force: true });

const server = spawn(process.execPath, ["scripts/start.mjs", "--no-build"], {
  env: { ...env, PORT: String(port), SEQFLARE_STATE: state },
  stdio: ["ignore", "pipe", "inherit"],
  detached: true,
});
let ready;
const seeded = new Promise((resolve) => (ready = resolve));
server.stdout.on("data", (b) => {
  const s = b.toString();
  if (process.env.VERBOSE) process.stdout.write(s);
  if (s.includes("Seqflare is running")) ready();
});
server.on("exit", (code) => {
  if (code) console.error(`app server exited with ${code}`);
});
const stop = () => {
  try {
    process.kill(-server.pid, "SIGTERM");
  } catch {
    // already gone
  }
};
process.on("exit", stop);

// `node scripts/test-browser.mjs test/browser/x.test.mjs` runs only the files named.
const files = process.argv.slice(2).filter((a) => a.endsWith(".mjs"));
let code = 0;
try {
  await waitForServer(`http://localhost:${port}/api/me`, 300_000);
  await Promise.race([seeded, new Promise((_, rej) => setTimeout(() => rej(new Error("seed did not finish in 300s")), 300_000))]);
  await run(process.execPath, ["--test", "--test-concurrency=1", ...(files.length ? files : ["test/browser/*.test.mjs"])], {
    env: { ...env, SEQFLARE_URL: `http://localhost:${port}`, CHROMIUM_PATH: chromiumPath },
  });
} catch (err) {
  console.error(err.message);
  code = 1;
} finally {
  stop();
}
process.exit(code);
