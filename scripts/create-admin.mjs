#!/usr/bin/env node
// `npm run create-admin -- --team "Acme" --email a@acme.com [--name "Ada Lovelace"] [--credits N] [--remote]`
// The one way into a fresh deployment: production seeds nothing and has no sign-up, and invites need
// an admin. Creates the team and its first admin (and, with --credits, a grant in the credit ledger)
// in the local D1 (`npm start`'s state; --persist-to <dir> for another) or, with --remote, the
// deployed one, through `wrangler d1 execute`. The password is made here and printed once: it never
// passes through the shell or its history. Its hash has the Worker's own format (worker/lib/crypto.ts:
// PBKDF2-HMAC-SHA256, 100,000 iterations, `pbkdf2-sha256$<iterations>$<salt>$<hash>`).
// Refuses an address that already has an account (an address is one account in every team).
import { parseArgs } from "node:util";
import { pbkdf2Sync, randomBytes } from "node:crypto";
import { newId, operatorD1, sqlText } from "./lib.mjs";

/** The Worker's PBKDF2_ITERATIONS (workerd's cap): sign-in verifies with the count stored in the hash. */
const ITERATIONS = 100_000;

const fail = (message) => {
  console.error(message);
  process.exit(1);
};

const { values: args } = (() => {
  try {
    return parseArgs({
      options: {
        team: { type: "string" },
        email: { type: "string" },
        name: { type: "string" },
        credits: { type: "string" },
        remote: { type: "boolean", default: false },
        "persist-to": { type: "string" },
      },
    });
  } catch (e) {
    return fail(e.message);
  }
})();

const usage = 'Usage: npm run create-admin -- --team "Acme" --email you@acme.com [--name "Your Name"] [--credits N] [--remote]';
const team = args.team?.trim();
const email = args.email?.trim().toLowerCase();
if (!team || !email) fail(usage);
if (team.length > 120) fail("--team: use at most 120 characters");
if (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) fail(`--email: ${args.email} is not an email address`);
const name = args.name?.trim() || email.split("@")[0];
if (name.length > 120) fail("--name: use at most 120 characters");
const credits = args.credits === undefined ? 0 : Number(args.credits);
if (!Number.isInteger(credits) || credits < 0 || credits > 1_000_000_000) fail("--credits: a whole number, 0 or more");

const { query } = operatorD1({ remote: args.remote, persistTo: args["persist-to"] });
const q = sqlText;

if (query(`SELECT id FROM users WHERE email = ${q(email)}`).length) fail(`${email} already has a Seqflare account: nothing was created`);

const password = randomBytes(15).toString("base64url");
const salt = randomBytes(16);
const hash = `pbkdf2-sha256$${ITERATIONS}$${salt.toString("base64")}$${pbkdf2Sync(password, salt, ITERATIONS, 32, "sha256").toString("base64")}`;
/**
 * A team's contact stages (nothing else makes them: new contacts start in the first open one, and Do
 * Not Contact is a stage), the same as the demo teams' (worker/seed/demo.ts STAGES), Apollo's defaults.
 */
const STAGES = [
  ["Cold", "open"],
  ["Approaching", "in_progress"],
  ["Replied", "in_progress"],
  ["Interested", "succeeded"],
  ["Not Interested", "failed"],
  ["Unresponsive", "failed"],
  ["Bad Data", "blocked"],
  ["Changed Job", "blocked"],
  ["Do Not Contact", "dnc"],
];
const teamId = newId();
const userId = newId();
const t = Date.now();

// Each statement only while the address is still free and the one before it happened, so a second
// run at the same moment (or an address taken in between) creates nothing.
const free = `NOT EXISTS (SELECT 1 FROM users WHERE email = ${q(email)})`;
query(`
INSERT INTO teams (id, name, credit_balance, created_at) SELECT ${q(teamId)}, ${q(team)}, ${credits}, ${t} WHERE ${free};
INSERT INTO users (id, team_id, email, name, role, password_hash, created_at)
  SELECT ${q(userId)}, id, ${q(email)}, ${q(name)}, 'admin', ${q(hash)}, ${t} FROM teams WHERE id = ${q(teamId)} AND ${free};
INSERT INTO contact_stages (id, team_id, name, category, position)
  SELECT column1, ${q(teamId)}, column2, column3, column4 FROM (VALUES ${STAGES.map(([n, c], i) => `(${q(newId())}, ${q(n)}, ${q(c)}, ${i})`).join(", ")})
  WHERE EXISTS (SELECT 1 FROM users WHERE id = ${q(userId)});
INSERT INTO credit_ledger (id, team_id, kind, amount, balance_after, source, ref, note, created_at)
  SELECT ${q(newId())}, team_id, 'grant', ${credits}, ${credits}, 'manual', 'create-admin', 'Initial credits (create-admin)', ${t}
  FROM users WHERE id = ${q(userId)} AND ${credits} > 0;
INSERT INTO audit_log (id, team_id, user_id, api_key_id, action, target_type, target_id, details, created_at)
  SELECT ${q(newId())}, team_id, id, NULL, 'team.create', 'team', team_id, ${q(JSON.stringify({ via: "create-admin", credits }))}, ${t}
  FROM users WHERE id = ${q(userId)};
`);
if (!query(`SELECT id FROM users WHERE id = ${q(userId)}`).length) {
  query(`DELETE FROM teams WHERE id = ${q(teamId)} AND NOT EXISTS (SELECT 1 FROM users WHERE team_id = ${q(teamId)})`);
  fail(`${email} already has a Seqflare account: nothing was created`);
}

console.log(`Created team "${team}" (${teamId}) and its admin ${email}${credits ? ` with ${credits} credits` : ""} (${args.remote ? "remote" : "local"} D1).
Sign in with:
  email:    ${email}
  password: ${password}
This password is shown once. Change it after signing in (Settings → Change password) and invite your team from Settings → Team.`);
