import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { client, env, errorOf, fieldsOf, ok } from "../helpers";
import { makeUser, sessionFor, startSimulation } from "../fixtures";
import { dsn, replyTo, sentFirst } from "./mail";

const reviewed = async (id: string) =>
  (await env.DB.prepare("SELECT reviewed_at, reviewed_by, classification FROM inbound_messages WHERE id = ?")
    .bind(id)
    .first<{ reviewed_at: number | null; reviewed_by: string | null; classification: string }>())!;

describe("replies: Confirm selected", () => {
  beforeEach(() => startSimulation());

  it("marks each reply reviewed as its own Confirm does, skips those the caller can't see or only views, and refuses more than 100", async () => {
    const s = await sentFirst({ n: 3 });
    const a = (await handleInbound(env, replyTo(s.sent[0]!))).inboundId!;
    const b = (await handleInbound(env, dsn(s.sent[1]!, "5.1.1"))).inboundId!;
    const other = await sentFirst();
    const foreign = (await handleInbound(env, replyTo(other.m))).inboundId!;
    const api = client(s.session).api.replies.confirm;

    const res = await ok(api.$post({ json: { ids: [a, b, foreign, a] } }));
    expect(res.confirmed.sort()).toEqual([a, b].sort());
    expect(res.skipped).toEqual([{ id: foreign, reason: "not_found" }]);
    for (const id of [a, b]) expect(await reviewed(id)).toMatchObject({ reviewed_by: s.userId, reviewed_at: expect.any(Number) });
    // Confirming leaves what it was: the hard bounce stays one.
    expect((await reviewed(b)).classification).toBe("bounce_hard");
    expect((await reviewed(foreign)).reviewed_at).toBeNull();

    // A member who may only view the sequence: nothing confirmed, as the single Confirm answers 403.
    const c = (await handleInbound(env, replyTo(s.sent[2]!))).inboundId!;
    const viewer = await makeUser(s.teamId, "member", { sequenceId: s.sequenceId, access: "view" });
    const v = await ok(client(await sessionFor(s.teamId, viewer)).api.replies.confirm.$post({ json: { ids: [c] } }));
    expect(v).toEqual({ confirmed: [], skipped: [{ id: c, reason: "forbidden" }] });
    expect((await reviewed(c)).reviewed_at).toBeNull();

    // Exactly 100 is taken (past D1's 100 bound parameters had they been bound one by one): the real one confirmed, the 99 unknown ids skipped.
    const asAdmin = await ok(api.$post({ json: { ids: [c, ...Array.from({ length: 99 }, (_, i) => `y${i}`)] } }));
    expect(asAdmin.confirmed).toEqual([c]);
    expect(asAdmin.skipped).toHaveLength(99);
    expect(await reviewed(c)).toMatchObject({ reviewed_by: s.userId, reviewed_at: expect.any(Number) });

    const d = (await handleInbound(env, replyTo(s.sent[2]!, { subject: "Another answer" }))).inboundId!;
    const tooMany = await errorOf(await api.$post({ json: { ids: [d, ...Array.from({ length: 100 }, (_, i) => `x${i}`)] } }));
    expect(tooMany.status).toBe(422);
    expect(fieldsOf(tooMany).map((f) => f.field)).toEqual(["ids"]);
    expect((await reviewed(d)).reviewed_at).toBeNull();
    expect(tooMany.message).toBe("Confirm at most 100 replies at once");
  });

  it("counts a repeated id once against the 100, as the README's limits say", async () => {
    const s = await sentFirst({ n: 1 });
    const a = (await handleInbound(env, replyTo(s.sent[0]!))).inboundId!;
    const api = client(s.session).api.replies.confirm;
    // 100 different ids and a repeat: 100.
    const unknown = Array.from({ length: 99 }, (_, i) => `z${i}`);
    const atMax = await ok(api.$post({ json: { ids: [a, ...unknown, a] } }));
    expect(atMax.confirmed).toEqual([a]);
    expect(atMax.skipped).toHaveLength(99);
    expect(await reviewed(a)).toMatchObject({ reviewed_by: s.userId, reviewed_at: expect.any(Number) });
    // One id sent 101 times is one reply.
    const once = await ok(api.$post({ json: { ids: Array.from({ length: 101 }, () => a) } }));
    expect(once).toEqual({ confirmed: [a], skipped: [] });
    // 101 different ones are still too many.
    const tooMany = await errorOf(await api.$post({ json: { ids: [a, ...unknown, "z-extra", a] } }));
    expect([tooMany.status, tooMany.message]).toEqual([422, "Confirm at most 100 replies at once"]);
    expect(fieldsOf(tooMany).map((f) => f.field)).toEqual(["ids"]);
  });
});
