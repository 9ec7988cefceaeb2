// Two people correcting the same reply at once: one correction acts, the other is told it lost, and
// the effect stored is the one in force (so a later correction undoes it).
import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { client, env, errorOf, ok } from "../helpers";
import { startSimulation } from "../fixtures";
import { advanceClock, now } from "../../worker/lib/clock";
import { CORRECTION_LEASE_MS } from "../../worker/services/replies";
import { enrollmentRow, replyTo, sentFirst } from "./mail";

type Api = ReturnType<typeof client>["api"];
type Classification = Parameters<Api["replies"][":id"]["classification"]["$post"]>[0]["json"]["classification"];

describe("correcting a reply's classification", () => {
  beforeEach(() => startSimulation());

  it("two concurrent corrections to unsubscribe: one acts, the other is refused, and correcting back lifts the suppression", async () => {
    const s = await sentFirst();
    const r = await handleInbound(env, replyTo(s.m));
    const api = client(s.session).api;
    // confirm: taking the unsubscribe back (below) lifts an opt-out.
    const correct = (classification: Classification) =>
      api.replies[":id"].classification.$post({ param: { id: r.inboundId! }, json: { classification, confirm: true } });
    const both = await Promise.all([correct("unsubscribe"), correct("unsubscribe")]);
    expect(both.map((b) => b.status).sort()).toEqual([200, 409]);
    const lost = await errorOf(both.find((b) => b.status === 409)!);
    expect(lost).toMatchObject({ code: "conflict" });
    expect(lost.message).toMatch(/someone else|changed/i);
    const suppressed = () =>
      env.DB.prepare("SELECT count(*) n FROM suppressions WHERE team_id = ? AND email = lower(?)")
        .bind(s.teamId, s.m.to_email)
        .first<{ n: number }>();
    expect(await suppressed()).toEqual({ n: 1 });
    // Back to a reply: the suppression the winning correction wrote goes, and so does the contact's mark.
    const back = await ok(correct("reply"));
    expect(back.reply.classification).toBe("reply");
    expect(await suppressed()).toEqual({ n: 0 });
    expect(await env.DB.prepare("SELECT unsubscribed_at FROM contacts WHERE id = ?").bind(s.m.contact_id).first()).toEqual({
      unsubscribed_at: null,
    });
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
  });

  it("a correction that died mid-way holds the email for a while, then another one takes over", async () => {
    const s = await sentFirst();
    const r = await handleInbound(env, replyTo(s.m));
    await env.DB.prepare("UPDATE inbound_messages SET effect = json_set(effect, '$.correcting', json(?)) WHERE id = ?")
      .bind(JSON.stringify({ by: s.userId, at: now() }), r.inboundId)
      .run();
    const api = client(s.session).api;
    const correct = () => api.replies[":id"].classification.$post({ param: { id: r.inboundId! }, json: { classification: "auto_reply" } });
    const busy = await errorOf(await correct());
    expect(busy).toMatchObject({ status: 409, code: "conflict" });
    expect(busy.message).toMatch(/right now/);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
    advanceClock(CORRECTION_LEASE_MS + 1000);
    expect((await ok(correct())).reply.classification).toBe("auto_reply");
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active" });
  });
});
