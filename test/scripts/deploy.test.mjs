// `npm run deploy` refuses to start without an https PUBLIC_URL, before it touches anything.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

const deploy = (extra) => {
  const env = { ...process.env, CLOUDFLARE_API_TOKEN: "not-a-token", ...extra };
  if (extra.PUBLIC_URL === undefined) delete env.PUBLIC_URL;
  return spawnSync(process.execPath, ["scripts/deploy.mjs"], { env, encoding: "utf8", timeout: 30_000 });
};

test("deploy stops before doing anything when PUBLIC_URL is missing or not https", () => {
  const missing = deploy({ PUBLIC_URL: undefined });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /PUBLIC_URL is not set/);
  assert.doesNotMatch(missing.stdout + missing.stderr, /creating|wrangler/i);
  const plain = deploy({ PUBLIC_URL: "http://seqflare.example.com" });
  assert.equal(plain.status, 1);
  assert.match(plain.stderr, /must be an https:\/\/ address/);
});
