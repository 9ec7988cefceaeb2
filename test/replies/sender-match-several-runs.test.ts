// A reply without threading headers is matched by its sender to a contact this mailbox emails in an open
// run. With the contact in two sequences from the same mailbox it took the newest email's run, a guess:
// the other sequence's answer could stop the wrong run. It now takes the run whose email the reply's
// subject answers ("Re: <subject>"), and when none (or both) does, records the reply for review with no
// run stopped: it waits unreviewed in the inbox, its evidence saying why.
import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { startSimulation } from "../fixtures";
import { env } from "../helpers";
import { enrollmentRow, freshMail, twoOpenRuns } from "./mail";

describe("a sender-matched reply when the contact has several open runs from the mailbox", () => {
  beforeEach(() => startSimulation());

  it("goes to the run whose email its subject answers", async () => {
    // Once for each of the two: one of them is not the newest email, which a guess would take.
    for (const which of ["pricing", "intro"] as const) {
      const runs = await twoOpenRuns();
      expect(runs.pricing.email.subject).not.toBe(runs.intro.email.subject);
      const answered = runs[which].email;
      const r = await handleInbound(env, freshMail(answered.to_email, runs.mailbox, `AW: Re: ${answered.subject}`), runs.mailbox);
      expect(r, which).toMatchObject({ kind: "reply", messageId: answered.id, enrollmentId: answered.enrollment_id });
      const m = await env.DB.prepare("SELECT reply_kind FROM messages WHERE id = ?").bind(answered.id).first();
      expect(m, which).toEqual({ reply_kind: "reply" });
    }
  });

  it("answering neither subject, it is recorded for review and stops no run", async () => {
    const runs = await twoOpenRuns();
    const [pricing, intro, mailbox] = [runs.pricing.email, runs.intro.email, runs.mailbox];
    const r = await handleInbound(env, freshMail(pricing.to_email, mailbox, "Quick thought"), mailbox);
    expect(r).toMatchObject({ kind: "reply", enrollmentId: null });
    expect((await enrollmentRow(pricing.enrollment_id))!.status).toBe("active");
    expect((await enrollmentRow(intro.enrollment_id))!.status).toBe("active");
    const row = await env.DB.prepare("SELECT classification, effect, evidence, reviewed_at FROM inbound_messages WHERE id = ?")
      .bind(r.inboundId)
      .first<{ classification: string; effect: string; evidence: string; reviewed_at: number | null }>();
    expect(row).toMatchObject({ classification: "reply", reviewed_at: null });
    expect(JSON.parse(row!.effect)).toEqual({ enrollments: [] });
    expect(JSON.parse(row!.evidence)).toMatchObject({ rule: "sender_match", phrase: expect.stringContaining("in 2 open runs") });
    const replied = await env.DB.prepare("SELECT count(*) n FROM messages WHERE id IN (?, ?) AND replied_at IS NOT NULL")
      .bind(pricing.id, intro.id)
      .first<{ n: number }>();
    expect(replied!.n).toBe(0);
  });
});
