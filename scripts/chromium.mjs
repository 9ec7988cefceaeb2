// Finds the Chromium the browser tests drive, installing Debian's `chromium` package when it is missing
// and this process may (root, apt-get on PATH). A browser only ever comes from Debian's packages (or a
// path the user names with CHROMIUM_PATH); nothing is downloaded from anywhere else.
import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import path from "node:path";

export const DEFAULT_CHROMIUM = "/usr/bin/chromium";

const HOW_TO_INSTALL =
  "Install Debian's Chromium and run the tests again:\n" +
  "    sudo apt-get update && sudo apt-get install -y chromium\n" +
  "or point CHROMIUM_PATH at a Chromium you already have:\n" +
  "    CHROMIUM_PATH=/path/to/chromium npm test";

export const isExecutable = (file) => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The first directory on `PATH` holding an executable `name`, or null. */
export function which(name, pathVar = process.env.PATH ?? "") {
  for (const dir of pathVar.split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

/**
 * What to do about Chromium, decided from facts only (so it is testable without a machine to break):
 * - `use`: a browser is there (CHROMIUM_PATH when set, else /usr/bin/chromium);
 * - `install`: it is missing, we are root and apt-get exists, so install Debian's package;
 * - `fail`: it is missing and we may not install it; `message` says how to get it.
 * A CHROMIUM_PATH that points nowhere is a mistake to report, never a reason to install something.
 */
export function chromiumPlan({ chromiumPath, exists, isRoot, aptGet }) {
  if (chromiumPath) {
    if (exists(chromiumPath)) return { action: "use", path: chromiumPath };
    return { action: "fail", message: `CHROMIUM_PATH is set to ${chromiumPath}, but no executable is there.` };
  }
  if (exists(DEFAULT_CHROMIUM)) return { action: "use", path: DEFAULT_CHROMIUM };
  if (isRoot && aptGet) {
    return {
      action: "install",
      path: DEFAULT_CHROMIUM,
      commands: [
        [aptGet, ["update"]],
        [aptGet, ["install", "-y", "--no-install-recommends", "chromium"]],
      ],
    };
  }
  const why = !isRoot
    ? "this user is not root, so the tests will not install it"
    : "apt-get is not available here, so the tests cannot install Debian's package";
  return {
    action: "fail",
    message: `The browser tests need Chromium at ${DEFAULT_CHROMIUM}; it is missing and ${why}.\n${HOW_TO_INSTALL}`,
  };
}

/**
 * Returns the path of a usable Chromium, installing Debian's package first when the plan says so.
 * Throws an Error whose message says how to fix it otherwise. `facts` overrides the machine's facts
 * (tests use it); `log` receives what is being done.
 */
export function ensureChromium({ facts = {}, log = console.log, env = process.env } = {}) {
  const plan = chromiumPlan({
    chromiumPath: env.CHROMIUM_PATH || null,
    exists: isExecutable,
    isRoot: typeof process.getuid === "function" && process.getuid() === 0,
    aptGet: which("apt-get", env.PATH),
    ...facts,
  });
  if (plan.action === "use") return plan.path;
  if (plan.action === "fail") throw new Error(plan.message);
  log(`» Chromium is missing at ${plan.path}; installing Debian's "chromium" package with apt-get (running as root).`);
  for (const [cmd, args] of plan.commands) {
    log(`» ${cmd} ${args.join(" ")}`);
    const r = spawnSync(cmd, args, { stdio: "inherit", env: { ...env, DEBIAN_FRONTEND: "noninteractive" } });
    if (r.status !== 0) {
      throw new Error(
        `\`${cmd} ${args.join(" ")}\` failed (exit ${r.status ?? r.error?.message}); Chromium was not installed.\n${HOW_TO_INSTALL}`,
      );
    }
  }
  const exists = facts.exists ?? isExecutable;
  if (!exists(plan.path)) throw new Error(`apt-get finished but ${plan.path} is still missing.\n${HOW_TO_INSTALL}`);
  log(`» installed Chromium at ${plan.path}`);
  return plan.path;
}

// `node scripts/chromium.mjs`: find or install it now (npm test does this first, so a machine without
// Chromium learns it before the long Workers-runtime suite, not after).
if (process.argv[1] && import.meta.url === new URL(`file://${path.resolve(process.argv[1])}`).href) {
  try {
    console.log(`» Chromium for the browser tests: ${ensureChromium()}`);
  } catch (err) {
    console.error(`\n${err.message}\n`);
    process.exit(1);
  }
}
