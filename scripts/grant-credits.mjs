#!/usr/bin/env node
// `npm run credits:grant -- --email a@acme.com --credits N [--note "Plan renewal"] [--adjust] [--remote]`
// How an operator tops up a team's credits (nothing in the app sells or grants them): a ledger row and
// the balance, written the way create-admin writes its initial grant, in the local D1 (`npm start`'s
// state; --persist-to <dir> for another) or, with --remote, the deployed one, through `wrangler d1
// execute`. The team is the one of the account --email names (or --team <team id>). A grant adds
// credits (kind 'grant', "Grant" on the Credits page); --adjust writes a correction (kind 'adjust',
// "Adjustment"), which may be negative (`--adjust --credits=-50`) but never takes the balance below zero
// (invariant 6).
import { parseArgs } from "node:util";
import { newId, operatorD1, sqlText } from "./lib.mjs";

const fail = (message) => {
  console.error(message);
  process.exit(1);
};

const { values: args } = (() => {
  try {
    return parseArgs({
      options: {
        email: { type: "string" },
        team: { type: "string" },
        credits: { type: "string" },
        note: { type: "string" },
        adjust: { type: "boolean", default: false },
        remote: { type: "boolean", default: false },
        "persist-to": { type: "string" },
      },
    });
  } catch (e) {
    return fail(e.message);
  }
})();

const usage =
  'Usage: npm run credits:grant -- (--email someone@acme.com | --team <team id>) --credits N [--note "Why"] [--adjust] [--remote]';
const email = args.email?.trim().toLowerCase();
const teamArg = args.team?.trim();
if (!email === !teamArg || args.credits === undefined) fail(usage);
const credits = Number(args.credits);
if (args.adjust) {
  if (!Number.isInteger(credits) || credits === 0 || Math.abs(credits) > 1_000_000_000)
    fail("--credits: with --adjust, a whole number other than 0 (negative takes credits away)");
} else if (!Number.isInteger(credits) || credits < 1 || credits > 1_000_000_000) {
  fail("--credits: a whole number, 1 or more (use --adjust to take credits away)");
}
const kind = args.adjust ? "adjust" : "grant";
const note = args.note?.trim() || (args.adjust ? "Adjustment (grant-credits)" : "Credits granted (grant-credits)");
if (note.length > 200) fail("--note: use at most 200 characters");

const { query } = operatorD1({ remote: args.remote, persistTo: args["persist-to"] });
const q = sqlText;

const [team] = email
  ? query(`SELECT t.id, t.name, t.credit_balance FROM users u JOIN teams t ON t.id = u.team_id WHERE u.email = ${q(email)}`)
  : query(`SELECT id, name, credit_balance FROM teams WHERE id = ${q(teamArg)}`);
if (!team) fail(email ? `${email} has no Seqflare account: no credits were added` : `No team has the id ${teamArg}: no credits were added`);

const rowId = newId();
const t = Date.now();

// One file, so one D1 batch (a transaction), as the Worker moves credits (worker/services/credits.ts):
// the ledger row first, only if the balance stays at 0 or more, with balance_after from the balance as
// it is; then the balance moves only if that row exists and follows from it.
query(`
INSERT INTO credit_ledger (id, team_id, kind, amount, balance_after, source, ref, note, created_at)
  SELECT ${q(rowId)}, id, ${q(kind)}, ${credits}, credit_balance + ${credits}, 'manual', ${q(`grant-credits:${rowId}`)}, ${q(note)}, ${t}
  FROM teams WHERE id = ${q(team.id)} AND credit_balance + ${credits} >= 0;
UPDATE teams SET credit_balance = credit_balance + ${credits}
  WHERE id = ${q(team.id)}
    AND EXISTS (SELECT 1 FROM credit_ledger l WHERE l.id = ${q(rowId)} AND l.balance_after = teams.credit_balance + l.amount);
`);
// The ledger row alone doesn't prove the balance moved (its UPDATE is conditional, and a remote file is
// not guaranteed to run as one transaction): the balance is read back beside the row, and success is
// only the balance the row says it left.
const [row] = query(
  `SELECT l.balance_after, t.credit_balance FROM credit_ledger l JOIN teams t ON t.id = l.team_id WHERE l.id = ${q(rowId)}`,
);
if (!row)
  fail(
    `${team.name} has ${team.credit_balance} credits: an adjustment of ${credits} would take the balance below zero. Nothing was changed.`,
  );
if (row.credit_balance !== row.balance_after)
  fail(
    `FAILED: the ledger row ${rowId} (${kind} of ${credits}) says the balance of team "${team.name}" (${team.id}) is now ${row.balance_after}, ` +
      `but the balance reads ${row.credit_balance} (it was ${team.credit_balance}). The balance may not have moved: check the ` +
      `team's balance and its latest ledger rows before running this again (the Worker may also have moved credits meanwhile).`,
  );
console.log(
  `${args.adjust ? "Adjusted" : "Granted"} ${credits} credits ${args.adjust ? "on" : "to"} team "${team.name}" (${team.id}): balance now ${row.balance_after} (${args.remote ? "remote" : "local"} D1).`,
);
