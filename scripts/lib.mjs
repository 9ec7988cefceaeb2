// Helpers shared by the npm scripts: run wrangler/vite through this project's Node 22, wait for the server.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";

// Child tools must run on this project's Node 22 (the `node` devDependency), even when the script
// itself was started outside npm: put its directory first on PATH.
export const env = {
  ...process.env,
  PATH: `${path.dirname(process.execPath)}:${path.resolve("node_modules/.bin")}:${process.env.PATH}`,
  WRANGLER_SEND_METRICS: "false",
};

export function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: "inherit", env, ...opts });
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}`))));
  });
}

export const bin = (name) => `node_modules/.bin/${name}`;

/** .dev.vars holds local secrets (never committed); create it on first start. */
export function ensureDevVars() {
  if (!existsSync(".dev.vars")) {
    writeFileSync(".dev.vars", `APP_SECRET=${randomBytes(32).toString("hex")}\n`);
    console.log("created .dev.vars with a random APP_SECRET");
  }
}

export async function waitForServer(url, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`server at ${url} did not come up within ${timeoutMs / 1000}s`);
}

/**
 * `wrangler dev`'s arguments for the app on 127.0.0.1:<port> with local state in <persist>: `npm start` and the
 * load and memory benches start it the same way, each adding its own flags (`extra`).
 */
export function devArgs({ port, persist, publicUrl, extra = [] }) {
  return [
    "dev",
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--persist-to",
    persist,
    "--var",
    "APP_ENV:local",
    "--var",
    `PUBLIC_URL:${publicUrl}`,
    "--show-interactive-dev-session=false",
    ...extra,
  ];
}

/**
 * The D1 an operator script writes, through `wrangler d1 execute`: the local one (`npm start`'s state, or
 * `persistTo`) or, with `remote`, the deployed one. `query` runs SQL from a file (several statements in one
 * go, and nothing it holds, such as a password hash, appears in a process list) and answers the rows of its
 * last statement; a local database is migrated first, since it may not exist before the first `npm start`
 * (a remote one was migrated by deploy).
 */
export function operatorD1({ remote, persistTo }) {
  const where = remote ? ["--remote"] : ["--local", "--persist-to", persistTo ?? process.env.SEQFLARE_STATE ?? ".wrangler/state"];
  // maxBuffer: `migrations apply` reprints its whole table of migrations after each one it applies, so a fresh
  // database's output grows with the square of their number: 65 migrations print 1.1 MB, past the 1 MB default.
  const wrangler = (a) =>
    execFileSync(bin("wrangler"), a, {
      env: { ...env, CI: "true" },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 256 * 1024 * 1024,
    });
  if (!remote) wrangler(["d1", "migrations", "apply", "DB", ...where]);
  const query = (sql) => {
    const dir = mkdtempSync(path.join(tmpdir(), "seqflare-d1-"));
    try {
      writeFileSync(path.join(dir, "q.sql"), sql);
      const out = JSON.parse(wrangler(["d1", "execute", "DB", ...where, "--json", "--file", path.join(dir, "q.sql")]));
      return out.at(-1)?.results ?? [];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  return { query };
}

/** A string as an SQL literal, for the operator scripts' SQL files. */
export const sqlText = (s) => `'${String(s).replaceAll("'", "''")}'`;

/** The Worker's id shape (worker/lib/ids.ts newId): 4 bytes of seconds, then random bytes. */
export const newId = () => {
  const b = randomBytes(12);
  b.writeUInt32BE(Math.floor(Date.now() / 1000), 0);
  return b.toString("hex");
};
