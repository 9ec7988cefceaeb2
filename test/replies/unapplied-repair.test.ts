// An inbound email stored but not acted on (its SequenceDO call failed after the insert) was acted on
// only if it was delivered again; the cron now finds such rows and acts on them (invariant 10).
import { beforeEach, describe, expect, it } from "vitest";
import { runCron } from "../../worker/cron";
import type { Env } from "../../worker/env";
import { handleInbound } from "../../worker/inbound";
import { advanceClock, now } from "../../worker/lib/clock";
import { UNAPPLIED_AFTER_MS } from "../../worker/services/replies";
import { DAY, runUntil, startSimulation } from "../fixtures";
import { client, env, errorOf } from "../helpers";
import { countSent, enrollmentRow, replyTo, sentFirst } from "./mail";

const controller = { scheduledTime: Date.now(), cron: "* * * * *", noRetry() {} } as ScheduledController;

/** An env whose SequenceDO refuses its next `finish`, as a DO that is down or reset would. */
function finishFailsOnce(base: Env): Env {
  let failed = false;
  const SEQUENCE_DO = new Proxy(base.SEQUENCE_DO, {
    get(ns, k) {
      if (k !== "get") {
        const v: unknown = Reflect.get(ns, k);
        return typeof v === "function" ? v.bind(ns) : v;
      }
      return (id: DurableObjectId) => {
        const stub = ns.get(id);
        return new Proxy(stub, {
          get(s, m) {
            const v: unknown = Reflect.get(s, m);
            if (m === "transition" && !failed)
              return (...a: unknown[]) => {
                if (a[3] !== "finish") return (v as (...x: unknown[]) => unknown)(...a);
                failed = true;
                return Promise.reject(new Error("SequenceDO unavailable"));
              };
            return typeof v === "function" ? v.bind(s) : v;
          },
        });
      };
    },
  });
  return { ...base, SEQUENCE_DO } as Env;
}

const inbound = (id: string) =>
  env.DB.prepare("SELECT classification, effect FROM inbound_messages WHERE id = ?")
    .bind(id)
    .first<{ classification: string; effect: string }>();

describe("an inbound email stored but not acted on", () => {
  beforeEach(() => startSimulation());

  it("is acted on by the cron once its handler has had its time: the run ends replied and the row records it", async () => {
    const s = await sentFirst();
    const raw = replyTo(s.m);
    await expect(handleInbound(finishFailsOnce(env), raw)).rejects.toThrow(/SequenceDO unavailable/);
    const [{ id }] = (await env.DB.prepare("SELECT id FROM inbound_messages WHERE message_id = ?").bind(s.m.id).all<{ id: string }>())
      .results as [{ id: string }];
    expect(await inbound(id)).toEqual({ classification: "reply", effect: "{}" });
    // A tick while the first handler may still be at work leaves it alone.
    await runCron(controller, env);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active" });
    advanceClock(UNAPPLIED_AFTER_MS + 1000);
    await runCron(controller, env);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
    const effect = JSON.parse((await inbound(id))!.effect) as { enrollments: { id: string; action: string }[]; applying?: number };
    expect(effect.enrollments).toEqual([expect.objectContaining({ id: s.m.enrollment_id, action: "finish", reason: "replied" })]);
    expect(effect.applying).toBeUndefined();
    expect(await env.DB.prepare("SELECT stage_id FROM contacts WHERE id = ?").bind(s.m.contact_id).first()).toEqual({
      stage_id: `${s.teamId}-replied`,
    });
    // Once: another tick and a late redelivery change nothing, and the second step never goes out.
    await runCron(controller, env);
    expect(await handleInbound(env, raw)).toMatchObject({ duplicate: true });
    expect(JSON.parse((await inbound(id))!.effect)).toEqual(effect);
    await runUntil(now() + 3 * DAY);
    expect(await countSent(s.sequenceId)).toBe(1);
  });

  it("a correction waits while the email is being acted on late, then is allowed", async () => {
    const s = await sentFirst();
    await expect(handleInbound(finishFailsOnce(env), replyTo(s.m))).rejects.toThrow(/SequenceDO unavailable/);
    const { id } = (await env.DB.prepare("SELECT id FROM inbound_messages WHERE message_id = ?").bind(s.m.id).first<{ id: string }>())!;
    // What applyStored's claim writes, as if the cron were acting on it at this moment.
    await env.DB.prepare("UPDATE inbound_messages SET effect = json_set(effect, '$.applying', ?) WHERE id = ?").bind(now(), id).run();
    const correct = () =>
      client(s.session).api.replies[":id"].classification.$post({ param: { id }, json: { classification: "auto_reply" } });
    expect(await errorOf(await correct())).toMatchObject({
      status: 409,
      code: "conflict",
      message: expect.stringMatching(/being acted on/),
    });
    advanceClock(UNAPPLIED_AFTER_MS + 1000);
    expect((await correct()).status).toBe(200);
    expect(await inbound(id)).toMatchObject({ classification: "auto_reply" });
    // Corrected (its effect written): the cron leaves it alone.
    await runCron(controller, env);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active" });
  });
});
