// The Pages deployment option: its config is checked in, its Functions build (wrangler pages functions
// build, offline) and route exactly /api/*, /apollo/* and /unsubscribe/* to the Worker's service binding,
// and `deploy --pages` would deploy that project.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { pagesConfig, pagesPlan } from "../../scripts/pages.mjs";

test("pages/wrangler.toml names the project, its output and a service binding to the Worker", () => {
  const cfg = pagesConfig();
  assert.equal(cfg.project, "seqflare-web");
  assert.equal(cfg.output, "./dist");
  assert.equal(cfg.service, readFileSync("wrangler.toml", "utf8").match(/^name\s*=\s*"([^"]+)"/m)[1]);
});

test("deploy --pages runs wrangler pages deploy for that project, and says when PUBLIC_URL is missing", () => {
  const plan = pagesPlan({});
  assert.deepEqual(plan.deployArgs.slice(0, 4), ["pages", "deploy", "--project-name", "seqflare-web"]);
  assert.match(plan.warnings.join("\n"), /PUBLIC_URL is not set/);
  assert.deepEqual(pagesPlan({ publicUrl: "https://app.example.com" }).warnings, []);
  assert.throws(() => pagesConfig('name = "x"\n'), /needs name, pages_build_output_dir and a \[\[services\]\]/);
});

test("the Pages Functions build and forward only /api/*, /apollo/* and /unsubscribe/*", { timeout: 120_000 }, () => {
  const out = mkdtempSync(path.join(tmpdir(), "pages-fn-"));
  const wrangler = path.resolve("node_modules/.bin/wrangler");
  execFileSync(wrangler, ["pages", "functions", "build", "--outdir", out, "--output-routes-path", path.join(out, "_routes.json")], {
    cwd: "pages",
    stdio: "pipe",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  const routes = JSON.parse(readFileSync(path.join(out, "_routes.json"), "utf8"));
  assert.deepEqual([...routes.include].sort(), ["/api/*", "/apollo/*", "/unsubscribe/*"]);
  assert.deepEqual(routes.exclude, []);
  const bundle = readFileSync(path.join(out, "index.js"), "utf8");
  assert.match(bundle, /env\.API\.fetch\(\w+\.request\)/);
});
