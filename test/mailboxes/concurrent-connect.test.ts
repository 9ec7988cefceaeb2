// Connecting the same address twice at once: the duplicate check runs before the slow part (the SMTP
// check, the provider's token exchange), so both requests pass it and the second insert meets the
// (team, email) unique index. It answers what a single duplicate does, never a 500.
import { describe, expect, inject, it } from "vitest";
import { makeTeam, sessionFor } from "../fixtures";
import { as, env, errorOf, fieldsOf } from "../helpers";
import { signIn, uniqueAccount } from "./oauth-sign-in";

const smtp = inject("smtp");
const rows = async (teamId: string, email: string) =>
  (await env.DB.prepare("SELECT count(*) n FROM mailboxes WHERE team_id = ? AND email = ?").bind(teamId, email).first<{ n: number }>())!.n;

/** The row a concurrent sign-in saved. */
const makeMailboxAt = (teamId: string, userId: string, email: string) =>
  env.DB.prepare(
    "INSERT INTO mailboxes (id, team_id, user_id, email, sender_name, signature, transport, transport_config, daily_limit, hourly_limit, min_gap_seconds, jitter_seconds, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'Other', '', 'gmail', '{}', 50, 20, 60, 30, 'connected', 0, 0)",
  )
    .bind(crypto.randomUUID().replace(/-/g, "").slice(0, 24), teamId, userId, email)
    .run();

describe("connecting the same address twice at once", () => {
  it("SMTP: one is connected, the other answers 422 on email", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const email = `twice-${teamId}@sim.test`;
    const body = {
      email,
      sender_name: "Twice",
      transport: "smtp",
      smtp: { host: smtp.host, port: smtp.ports.plain, security: "none", username: "demo", password: "secret" },
    };
    const answers = await Promise.all([as(s, "POST", "/api/mailboxes", body), as(s, "POST", "/api/mailboxes", body)]);
    expect(answers.map((r) => r.status).sort()).toEqual([201, 422]);
    const err = await errorOf(answers.find((r) => r.status === 422)!);
    expect(fieldsOf(err)).toEqual([expect.objectContaining({ field: "email", message: expect.stringMatching(/already connected/i) })]);
    expect(await rows(teamId, email)).toBe(1);
  });

  it("signing in: a sign-in that loses the race comes back to the Mailboxes screen saying the address is connected", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const account = uniqueAccount("twice");
    // The other sign-in saves the same address between this one's duplicate check and its insert.
    const proto = Object.getPrototypeOf(env.DB) as { batch: (this: D1Database, s: { statement?: string }[]) => Promise<unknown> };
    const batch = proto.batch;
    proto.batch = async function (stmts) {
      if (stmts.some((x) => /^insert into "mailboxes"/i.test(x.statement ?? ""))) {
        proto.batch = batch;
        await makeMailboxAt(teamId, userId, account);
      }
      return batch.call(this, stmts);
    };
    let r: Awaited<ReturnType<typeof signIn>>;
    try {
      r = await signIn(s, "google", account);
    } finally {
      proto.batch = batch;
    }
    expect(r.id).toBeNull();
    expect(r.error).toBeTruthy();
    expect(await rows(teamId, account)).toBe(1);
  });
});
