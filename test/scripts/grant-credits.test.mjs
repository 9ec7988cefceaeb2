// `npm run credits:grant` is how an operator tops up a team: a ledger row (Grant, or Adjustment with
// --adjust) and the balance together, never below zero, refused for an account that doesn't exist.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { env, operatorD1 } from "../../scripts/lib.mjs";

const persist = mkdtempSync(path.join(tmpdir(), "seqflare-grant-credits-"));
const run = (script, ...args) =>
  spawnSync(process.execPath, [script, "--persist-to", persist, ...args], { env, encoding: "utf8", timeout: 120_000 });
// The same D1 the scripts write (migrated once, when first asked).
let d1;
const rows = (sql) => (d1 ??= operatorD1({ persistTo: persist })).query(sql);

test(
  "grant-credits adds credits with a ledger row beside the balance; an adjustment never takes it below zero",
  { timeout: 240_000 },
  async (t) => {
    t.after(() => rmSync(persist, { recursive: true, force: true }));
    const made = run("scripts/create-admin.mjs", "--team", "Acme", "--email", "ada@acme.com", "--credits", "100");
    assert.equal(made.status, 0, made.stderr);

    const granted = run("scripts/grant-credits.mjs", "--email", "Ada@Acme.com", "--credits", "400", "--note", "Plan renewal");
    assert.equal(granted.status, 0, granted.stderr);
    assert.match(granted.stdout, /Granted 400 credits to team "Acme" .*balance now 500/);
    const balance = () => rows("SELECT credit_balance AS b FROM teams")[0].b;
    assert.equal(balance(), 500);

    const [team] = rows("SELECT id FROM teams");
    const taken = run("scripts/grant-credits.mjs", "--team", team.id, "--credits=-120", "--adjust");
    assert.equal(taken.status, 0, taken.stderr);
    assert.equal(balance(), 380);

    // Below zero: nothing written, balance kept.
    const tooMuch = run("scripts/grant-credits.mjs", "--email", "ada@acme.com", "--credits=-381", "--adjust");
    assert.equal(tooMuch.status, 1);
    assert.match(tooMuch.stderr, /below zero/);
    // A negative grant is refused: taking credits away is an adjustment.
    const negative = run("scripts/grant-credits.mjs", "--email", "ada@acme.com", "--credits=-5");
    assert.equal(negative.status, 1);
    assert.match(negative.stderr, /--adjust/);
    const nobody = run("scripts/grant-credits.mjs", "--email", "nobody@acme.com", "--credits", "5");
    assert.equal(nobody.status, 1);
    assert.match(nobody.stderr, /no Seqflare account/);
    assert.equal(balance(), 380);

    // Each change is one ledger row whose balance_after is the balance it left (the Credits page's kinds).
    const ledger = rows("SELECT kind, amount, balance_after, source, note FROM credit_ledger ORDER BY created_at, balance_after DESC");
    assert.deepEqual(
      ledger.map((r) => [r.kind, r.amount, r.balance_after]),
      [
        ["grant", 100, 100],
        ["grant", 400, 500],
        ["adjust", -120, 380],
      ],
    );
    assert.equal(ledger[1].note, "Plan renewal");
    assert.equal(ledger[1].source, "manual");

    // A balance that didn't move (here a trigger drops the UPDATE, as a write lost between the two statements
    // would) is a failure, said loudly, never "Granted": the ledger row alone proved nothing.
    rows("CREATE TRIGGER keep_balance BEFORE UPDATE OF credit_balance ON teams BEGIN SELECT RAISE(IGNORE); END;");
    const lost = run("scripts/grant-credits.mjs", "--email", "ada@acme.com", "--credits", "50");
    rows("DROP TRIGGER keep_balance;");
    assert.equal(lost.status, 1, lost.stdout);
    assert.doesNotMatch(lost.stdout, /Granted/);
    assert.match(lost.stderr, /FAILED: the ledger row \w+ \(grant of 50\) says the balance .* is now 430, but the balance reads 380/);
    assert.equal(balance(), 380);
  },
);
