// The demo seed's replies inbox (issue 12 item 3): one inbound email of each kind, delivered through the
// real inbound path, so what the inbox says is what the engine did (re-read from D1).
import { describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { SEEDED_SEQUENCES } from "../../worker/seed/demo";
import { seedInbound } from "../../worker/seed/inbound";
import { client, env, ok } from "../helpers";
import { DEMO, sessionFor } from "../fixtures";

describe("the demo seed's inbound emails", () => {
  it("fill the replies inbox with a reply, an out-of-office, a hard and a soft bounce, an unsubscribe and an auto-reply, each with the engine's effect; seeding again adds nothing", async () => {
    for (const [sequenceId, teamId] of SEEDED_SEQUENCES) await engine.sequence(env, sequenceId, teamId).activate();
    const s = await sessionFor(DEMO.team, DEMO.admin);
    const api = client(s).api;
    // The history's past replies and out-of-offices are in the inbox already (test/replies/seed-history-replies).
    const history = (await ok(api.replies.$get({ query: { per_page: 1 } }))).counts;
    const stored = async () =>
      (await env.DB.prepare("SELECT count(*) n FROM inbound_messages WHERE team_id = ?").bind(DEMO.team).first<{ n: number }>())!.n;
    const historyRows = await stored();
    expect((await seedInbound(env)).delivered).toBe(6);
    const body = await ok(api.replies.$get({ query: { per_page: 50 } }));
    const added = Object.fromEntries(Object.entries(body.counts).map(([k, n]) => [k, n - (history[k] ?? 0)]));
    expect(added).toEqual({ reply: 1, out_of_office: 1, bounce_hard: 1, bounce_soft: 1, unsubscribe: 1, auto_reply: 1 });
    const rows = (
      await env.DB.prepare("SELECT id, enrollment_id FROM inbound_messages WHERE team_id = ?")
        .bind(DEMO.team)
        .all<{ id: string; enrollment_id: string }>()
    ).results;
    // The newest of its kind: the seed's inbound emails came in after the history.
    const of = (k: string) => {
      const r = body.replies.find((x) => x.classification === k)!;
      return { ...r, enrollment: { id: rows.find((x) => x.id === r.id)!.enrollment_id } };
    };
    const row = (id: string) =>
      env.DB.prepare("SELECT status, reason, next_due_at FROM enrollments WHERE id = ?")
        .bind(id)
        .first<{ status: string; reason: string; next_due_at: number | null }>();
    const contact = (id: string) =>
      env.DB.prepare("SELECT email, bounced_at, unsubscribed_at FROM contacts WHERE id = ?")
        .bind(id)
        .first<{ email: string; bounced_at: number | null; unsubscribed_at: number | null }>();
    const suppressed = async (email: string) =>
      (
        await env.DB.prepare("SELECT reason FROM suppressions WHERE team_id = ? AND email = ?").bind(DEMO.team, email.toLowerCase()).first<{
          reason: string;
        }>()
      )?.reason ?? null;

    // The out-of-office is the one that paused its contact: same return date, still paused until then.
    const ooo = of("out_of_office");
    expect(ooo.evidence.rule).toBe("auto_reply_with_return_date");
    expect(await row(ooo.enrollment!.id)).toMatchObject({ status: "paused", reason: "out_of_office", next_due_at: ooo.return_at });
    expect(await row(of("reply").enrollment!.id)).toMatchObject({ status: "finished", reason: "replied" });
    const hard = of("bounce_hard");
    expect(await row(hard.enrollment!.id)).toMatchObject({ status: "finished", reason: "bounced" });
    const bounced = (await contact(hard.contact!.id))!;
    expect(bounced.bounced_at).not.toBeNull();
    expect(await suppressed(bounced.email)).toBe("bounced");
    const unsub = of("unsubscribe");
    expect(await row(unsub.enrollment!.id)).toMatchObject({ status: "finished", reason: "unsubscribed" });
    expect(await suppressed((await contact(unsub.contact!.id))!.email)).toBe("unsubscribed");
    // A soft bounce waits for its retry; an auto-reply changes nothing.
    const soft = (await env.DB.prepare("SELECT retry_attempt, retry_at FROM inbound_messages WHERE id = ?")
      .bind(of("bounce_soft").id)
      .first<{ retry_attempt: number; retry_at: number | null }>())!;
    expect(soft.retry_attempt).toBe(1);
    expect(soft.retry_at).not.toBeNull();
    // On a run the engine retries for (MailboxDO.resendVerdict: active, or through its steps), none of whose
    // emails was answered (an email answered by an out-of-office was delivered): not a paused one, whose
    // inbox row promised a next try beside "Paused · Out of office".
    const softRun = of("bounce_soft").enrollment!.id;
    expect(await row(softRun)).toMatchObject({ status: "finished", reason: "completed_all_steps" });
    expect(
      (await env.DB.prepare("SELECT count(*) n FROM messages WHERE enrollment_id = ? AND replied_at IS NOT NULL")
        .bind(softRun)
        .first<{ n: number }>())!.n,
    ).toBe(0);
    expect(["out_of_office", "completed_all_steps"]).toContain((await row(of("auto_reply").enrollment!.id))!.reason);

    // Correcting the seeded reply undoes it for real: that contact was paused (out of office), and is again.
    await ok(api.replies[":id"].classification.$post({ param: { id: of("reply").id }, json: { classification: "auto_reply" } }));
    expect(await row(of("reply").enrollment!.id)).toMatchObject({ status: "paused", reason: "out_of_office" });

    const again = await seedInbound(env);
    expect(again.delivered).toBe(0);
    expect(await stored()).toBe(historyRows + 6);
  });
});
