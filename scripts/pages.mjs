// The Pages side of `npm run deploy -- --pages`, kept apart so it can be tested without deploying:
// the project name from pages/wrangler.toml, the wrangler arguments, and what to tell the user.
import { readFileSync } from "node:fs";

/** The Pages project's name and its service binding's target, read from pages/wrangler.toml. */
export function pagesConfig(toml = readFileSync("pages/wrangler.toml", "utf8")) {
  const project = toml.match(/^name\s*=\s*"([^"]+)"/m)?.[1];
  const service = toml.match(/^\[\[services\]\][^[]*?^service\s*=\s*"([^"]+)"/ms)?.[1];
  const output = toml.match(/^pages_build_output_dir\s*=\s*"([^"]+)"/m)?.[1];
  if (!project || !service || !output)
    throw new Error("pages/wrangler.toml needs name, pages_build_output_dir and a [[services]] binding to the Worker");
  return { project, service, output };
}

/** What `--pages` runs (from pages/) and the warnings it prints. */
export function pagesPlan({ publicUrl, toml } = {}) {
  const cfg = pagesConfig(toml);
  const workerName = readFileSync("wrangler.toml", "utf8").match(/^name\s*=\s*"([^"]+)"/m)?.[1];
  const warnings = [];
  if (workerName && cfg.service !== workerName)
    warnings.push(`pages/wrangler.toml binds the service "${cfg.service}", but the Worker is "${workerName}": /api/* won't reach it`);
  if (!publicUrl)
    warnings.push(
      `PUBLIC_URL is not set: set it to the Pages address (https://${cfg.project}.pages.dev or your domain) and deploy again, so links in emails and OAuth redirects use it`,
    );
  return { ...cfg, deployArgs: ["pages", "deploy", "--project-name", cfg.project, "--branch", "main", "--commit-dirty=true"], warnings };
}
