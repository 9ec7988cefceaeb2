// `npm run create-admin` makes a fresh deployment usable: a team and its first admin, whose printed
// password the Worker's own verifyPassword accepts, and refuses an address that has an account.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { verifyPassword } from "../../worker/lib/crypto.ts";
import { bin, env } from "../../scripts/lib.mjs";

const persist = mkdtempSync(path.join(tmpdir(), "seqflare-create-admin-"));
const createAdmin = (...args) =>
  spawnSync(process.execPath, ["scripts/create-admin.mjs", "--persist-to", persist, ...args], { env, encoding: "utf8", timeout: 120_000 });
const rows = (sql) =>
  JSON.parse(
    execFileSync(bin("wrangler"), ["d1", "execute", "DB", "--local", "--persist-to", persist, "--json", "--command", sql], {
      env,
      encoding: "utf8",
    }),
  )[0].results;

test(
  "create-admin makes the team and an admin who can sign in with the printed password, once per address",
  { timeout: 240_000 },
  async (t) => {
    t.after(() => rmSync(persist, { recursive: true, force: true }));
    const made = createAdmin("--team", "Acme O'Hara", "--email", "Ada@Acme.com", "--credits", "250");
    assert.equal(made.status, 0, made.stderr);
    const password = made.stdout.match(/password: (\S+)/)?.[1];
    assert.ok(password, made.stdout);
    assert.doesNotMatch(made.stdout, /pbkdf2/);

    const [user] = rows(
      "SELECT u.email, u.name, u.role, u.disabled_at, u.password_hash, t.name AS team, t.credit_balance FROM users u JOIN teams t ON t.id = u.team_id",
    );
    assert.equal(user.email, "ada@acme.com");
    assert.equal(user.name, "ada");
    assert.equal(user.role, "admin");
    assert.equal(user.disabled_at, null);
    assert.equal(user.team, "Acme O'Hara");
    assert.equal(user.credit_balance, 250);
    assert.equal(await verifyPassword(password, user.password_hash), true);
    assert.equal(await verifyPassword(password + "x", user.password_hash), false);
    // Its contact stages: new contacts start in Cold; Do Not Contact is a stage.
    const stages = rows("SELECT name, category FROM contact_stages ORDER BY position");
    assert.equal(stages.length, 9);
    assert.deepEqual(stages[0], { name: "Cold", category: "open" });
    assert.deepEqual(stages.at(-1), { name: "Do Not Contact", category: "dnc" });
    const ledger = rows("SELECT kind, amount, balance_after FROM credit_ledger");
    assert.deepEqual(ledger, [{ kind: "grant", amount: 250, balance_after: 250 }]);

    const again = createAdmin("--team", "Other", "--email", "ada@acme.com");
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already has a Seqflare account/);
    assert.equal(rows("SELECT count(*) AS n FROM teams")[0].n, 1);
    assert.equal(rows("SELECT count(*) AS n FROM users")[0].n, 1);
    assert.equal(rows("SELECT count(*) AS n FROM contact_stages")[0].n, 9);

    const bad = createAdmin("--team", "X", "--email", "not-an-address");
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /--email/);
  },
);
