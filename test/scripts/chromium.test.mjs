// The browser tests' Chromium: found, installed from Debian's package when root with apt-get, or a
// clear refusal saying how to install it. Runs with plain `node --test` (no browser, no root needed):
// the install path runs against a fake apt-get on a temporary PATH.
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { DEFAULT_CHROMIUM, chromiumPlan, ensureChromium } from "../../scripts/chromium.mjs";

const none = () => false;
const only =
  (...files) =>
  (f) =>
    files.includes(f);

test("uses /usr/bin/chromium when it is there, installing nothing", () => {
  assert.deepEqual(chromiumPlan({ chromiumPath: null, exists: only(DEFAULT_CHROMIUM), isRoot: true, aptGet: "/usr/bin/apt-get" }), {
    action: "use",
    path: DEFAULT_CHROMIUM,
  });
});

test("uses CHROMIUM_PATH when it names an executable", () => {
  assert.deepEqual(chromiumPlan({ chromiumPath: "/opt/c/chrome", exists: only("/opt/c/chrome"), isRoot: false, aptGet: null }), {
    action: "use",
    path: "/opt/c/chrome",
  });
});

test("a CHROMIUM_PATH that points nowhere is reported, not papered over by an install", () => {
  const plan = chromiumPlan({ chromiumPath: "/nope/chrome", exists: none, isRoot: true, aptGet: "/usr/bin/apt-get" });
  assert.equal(plan.action, "fail");
  assert.match(plan.message, /CHROMIUM_PATH is set to \/nope\/chrome/);
});

test("installs Debian's chromium package with apt-get when missing and running as root", () => {
  const plan = chromiumPlan({ chromiumPath: null, exists: none, isRoot: true, aptGet: "/usr/bin/apt-get" });
  assert.equal(plan.action, "install");
  assert.deepEqual(plan.commands, [
    ["/usr/bin/apt-get", ["update"]],
    ["/usr/bin/apt-get", ["install", "-y", "--no-install-recommends", "chromium"]],
  ]);
});

test("refuses with install instructions when not root", () => {
  const plan = chromiumPlan({ chromiumPath: null, exists: none, isRoot: false, aptGet: "/usr/bin/apt-get" });
  assert.equal(plan.action, "fail");
  assert.match(plan.message, /not root/);
  assert.match(plan.message, /sudo apt-get install -y chromium/);
  assert.match(plan.message, /CHROMIUM_PATH=/);
});

test("refuses with install instructions when apt-get is missing", () => {
  const plan = chromiumPlan({ chromiumPath: null, exists: none, isRoot: true, aptGet: null });
  assert.equal(plan.action, "fail");
  assert.match(plan.message, /apt-get is not available/);
});

/** A temporary PATH whose apt-get logs its arguments and, on `install`, "installs" a marker file. */
function fakeApt({ failUpdate = false } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "fake-apt-"));
  const log = path.join(dir, "calls.log");
  const installed = path.join(dir, "chromium-installed");
  const script = path.join(dir, "apt-get");
  writeFileSync(
    script,
    `#!/bin/sh\necho "$@ DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> ${log}\n` +
      (failUpdate ? `[ "$1" = update ] && exit 100\n` : "") +
      `[ "$1" = install ] && touch ${installed}\nexit 0\n`,
  );
  chmodSync(script, 0o755);
  return { dir, log, installed, env: { PATH: `${dir}:/usr/bin:/bin` } };
}

test("runs apt-get update then install from PATH, says what it does, and returns the installed path", () => {
  const apt = fakeApt();
  const lines = [];
  const got = ensureChromium({
    env: apt.env,
    log: (l) => lines.push(l),
    facts: { isRoot: true, exists: (f) => f === DEFAULT_CHROMIUM && existsSync(apt.installed) },
  });
  assert.equal(got, DEFAULT_CHROMIUM);
  assert.deepEqual(readFileSync(apt.log, "utf8").trim().split("\n"), [
    "update DEBIAN_FRONTEND=noninteractive",
    "install -y --no-install-recommends chromium DEBIAN_FRONTEND=noninteractive",
  ]);
  assert.match(lines[0], /installing Debian's "chromium" package with apt-get/);
  assert.match(lines.at(-1), /installed Chromium at \/usr\/bin\/chromium/);
});

test("a failing apt-get stops the run with how to install by hand, and installs nothing further", () => {
  const apt = fakeApt({ failUpdate: true });
  assert.throws(
    () => ensureChromium({ env: apt.env, log: () => {}, facts: { isRoot: true, exists: () => existsSync(apt.installed) } }),
    /apt-get update` failed \(exit 100\)[\s\S]*sudo apt-get install -y chromium/,
  );
  assert.equal(readFileSync(apt.log, "utf8").trim(), "update DEBIAN_FRONTEND=noninteractive");
  assert.equal(existsSync(apt.installed), false);
});

test("not root: nothing is run, the error says how to install", () => {
  const apt = fakeApt();
  assert.throws(() => ensureChromium({ env: apt.env, log: () => {}, facts: { isRoot: false, exists: none } }), /not root/);
  assert.equal(existsSync(apt.log), false);
});
