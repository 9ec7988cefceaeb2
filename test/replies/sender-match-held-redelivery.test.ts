// A sender-matched reply that cannot tell which run it answers is held for a person: stored with the
// effect "nothing" ({enrollments: []}) so nothing applies it later. That effect was written in a second
// write after the insert; a redelivery of the same email landing between the two found the row stored
// with no effect yet, applied it (applyStored, as for a handler that died after its insert) and stopped
// the newest run, the guess the hold is there to avoid. The effect is now part of the insert.
import { beforeEach, describe, expect, it } from "vitest";
import { db, type Db } from "../../worker/db/client";
import { inboundMessages } from "../../worker/db/schema";
import { now } from "../../worker/lib/clock";
import { classifyInbound } from "../../worker/services/reply-classify";
import { UNAPPLIED_AFTER_MS, recordInbound } from "../../worker/services/replies";
import { HOUR, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, startSimulation } from "../fixtures";
import { env } from "../helpers";
import { enrollmentRow, type Sent } from "./mail";

describe("a held sender match redelivered while it is being stored", () => {
  beforeEach(() => startSimulation());

  it("stops no run", async () => {
    const { teamId, userId } = await makeTeam();
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    const seq = async (subject: string) =>
      (
        await makeSequence(
          teamId,
          userId,
          [
            { wait: 0, variants: [{ subject, body: "Hi" }] },
            { wait: 3, unit: "days" },
          ],
          null,
        )
      ).sequenceId;
    const pricing = await seq("Pricing");
    const intro = await seq("Intro");
    const [contactId] = await makeContacts(teamId, 1);
    await enroll(teamId, pricing, [contactId!], [mb]);
    await enroll(teamId, intro, [contactId!], [mb]);
    await runUntil(now() + HOUR);
    const sent = await env.DB.prepare("SELECT * FROM messages WHERE sequence_id IN (?, ?)").bind(pricing, intro).all<Sent>();
    expect(sent.results).toHaveLength(2);
    const mailbox = (await env.DB.prepare("SELECT email FROM mailboxes WHERE id = ?").bind(mb).first<{ email: string }>())!.email;
    const raw = `From: Prospect <${sent.results[0]!.to_email}>\r\nTo: ${mailbox}\r\nSubject: Quick thought\r\nMessage-ID: <h-${crypto.randomUUID()}@mail.test>\r\nContent-Type: text/plain\r\n\r\nYes, let's talk Tuesday.\r\n`;

    const t = now();
    const real = db(env.DB);
    // The same email again, late enough that a stored row with no effect counts as one never applied.
    let redelivered = false;
    const redeliver = async () => {
      if (redelivered) return;
      redelivered = true;
      const later = t + UNAPPLIED_AFTER_MS + 60_000;
      await recordInbound(env, real, await classifyInbound(raw, later), later, undefined, mailbox);
    };
    // The first delivery's handle: the redelivery runs just before any write to the stored row after its insert.
    const first = new Proxy(real, {
      get(target, prop, receiver) {
        if (prop !== "update") return Reflect.get(target, prop, receiver);
        return (table: Parameters<Db["update"]>[0]) => {
          if (table !== inboundMessages) return target.update(table);
          return {
            set: (values: Parameters<ReturnType<Db["update"]>["set"]>[0]) => ({
              where: (where: Parameters<ReturnType<ReturnType<Db["update"]>["set"]>["where"]>[0]) =>
                redeliver().then(() => target.update(table).set(values).where(where)),
            }),
          };
        };
      },
    }) as Db;
    const r = await recordInbound(env, first, await classifyInbound(raw, t), t, undefined, mailbox);
    await redeliver();

    expect(r).toMatchObject({ kind: "reply", enrollmentId: null });
    for (const m of sent.results) expect((await enrollmentRow(m.enrollment_id))!.status).toBe("active");
    const rows = await env.DB.prepare("SELECT effect FROM inbound_messages WHERE team_id = ?").bind(teamId).all<{ effect: string }>();
    expect(rows.results.map((x) => JSON.parse(x.effect))).toEqual([{ enrollments: [] }]);
    const replied = await env.DB.prepare("SELECT count(*) n FROM messages WHERE sequence_id IN (?, ?) AND replied_at IS NOT NULL")
      .bind(pricing, intro)
      .first<{ n: number }>();
    expect(replied!.n).toBe(0);
  });
});
