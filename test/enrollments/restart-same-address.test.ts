// A restart and an address shared by two contacts (one person, one inbox): the restart checked the
// run's own contact only, so it gave the inbox a second run in the sequence, missed that the address
// was running in another sequence, and missed a reply that didn't finish the run (it answered the last
// step, or the sequence keeps going on replies) or came from the other contact.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { client, env, ok } from "../helpers";
import { DAY, HOUR, enroll, makeContacts, makeSequence, runUntil, startSimulation } from "../fixtures";
import { replyTo, sentFirst } from "../replies/mail";

type Api = ReturnType<typeof client>["api"];
type ActionArgs = Parameters<Api["sequences"][":id"]["enrollments"][":action"]["$post"]>[0];
const restart = (api: Api, seq: string, json: ActionArgs["json"]) =>
  ok(api.sequences[":id"].enrollments[":action"].$post({ param: { id: seq, action: "restart" }, json }));

const overridden: string[] = [];
afterEach(() => {
  for (const id of overridden.splice(0)) setTransportOverride(id, null);
});

/** Every email that reaches the mailbox's transport, by recipient. */
function countTransport(mailboxId: string) {
  const to: string[] = [];
  setTransportOverride(mailboxId, {
    async send(m) {
      to.push(m.to.toLowerCase());
      return { ok: true };
    },
  });
  overridden.push(mailboxId);
  return to;
}

/** A contact of the team with the address of `m` (in capitals: an address is one whatever its case). */
async function twinOf(teamId: string, email: string) {
  const [twin] = await makeContacts(teamId, 1);
  await env.DB.prepare("UPDATE contacts SET email = ? WHERE id = ?").bind(email.toUpperCase(), twin).run();
  return twin!;
}

const runOf = async (sequenceId: string, contactId: string) =>
  (await env.DB.prepare("SELECT id FROM enrollments WHERE sequence_id = ? AND contact_id = ? ORDER BY created_at")
    .bind(sequenceId, contactId)
    .first<{
      id: string;
    }>())!.id;

describe("restart and an address two contacts share", () => {
  beforeEach(() => startSimulation());

  it("A finished, its twin B runs in the sequence now: restarting A is blocked as duplicate_email and the inbox gets B's email only", async () => {
    // Two emails a day apart: A goes through both and finishes.
    const s = await sentFirst();
    await runUntil(now() + 2 * DAY);
    const a = s.m;
    expect(
      (await env.DB.prepare("SELECT reason FROM enrollments WHERE id = ?").bind(a.enrollment_id).first<{ reason: string }>())!.reason,
    ).toBe("completed_all_steps");
    const b = await twinOf(s.teamId, a.to_email);
    await enroll(s.teamId, s.sequenceId, [b], [s.mailboxId]);
    const to = countTransport(s.mailboxId);

    const r = await restart(client(s.session).api, s.sequenceId, { enrollment_ids: [a.enrollment_id], restart_anyway: true });
    expect(r.results[0]).toMatchObject({ changed: false, outcome: "blocked", reason_code: "duplicate_email" });
    expect(r.results[0]!.reason).toMatch(/^Another contact with this email address is in this sequence now: not restarted/);
    await runUntil(now() + HOUR);
    expect(to).toEqual([a.to_email.toLowerCase()]);
    expect(
      await env.DB.prepare("SELECT count(*) n FROM enrollments WHERE sequence_id = ? AND contact_id = ?")
        .bind(s.sequenceId, a.contact_id)
        .first("n"),
    ).toBe(1);
  });

  it("two finished twins restarted together: one of them gets a new run, the other is blocked as duplicate_email", async () => {
    const s = await sentFirst({ waits: [0] });
    const b = await twinOf(s.teamId, s.m.to_email);
    await enroll(s.teamId, s.sequenceId, [b], [s.mailboxId]);
    await runUntil(now() + HOUR);
    const ids = [s.m.enrollment_id, await runOf(s.sequenceId, b)];
    const to = countTransport(s.mailboxId);

    const r = await restart(client(s.session).api, s.sequenceId, { enrollment_ids: ids });
    expect(r.outcomes).toEqual({ restarted: 1, blocked: 1 });
    expect(r.results.find((x) => x.outcome === "blocked")!.reason_code).toBe("duplicate_email");
    await runUntil(now() + HOUR);
    expect(to).toHaveLength(1);
  });

  it("A finished, its twin B runs in another sequence: restarting A is blocked as active_elsewhere unless restart_anyway", async () => {
    const s = await sentFirst({ waits: [0] });
    const b = await twinOf(s.teamId, s.m.to_email);
    const { sequenceId: other } = await makeSequence(s.teamId, s.userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
    await enroll(s.teamId, other, [b], [s.mailboxId]);
    await runUntil(now() + HOUR);
    const api = client(s.session).api;

    const r = await restart(api, s.sequenceId, { enrollment_ids: [s.m.enrollment_id] });
    expect(r.results[0]).toMatchObject({ outcome: "blocked", reason_code: "active_elsewhere" });
    expect((await restart(api, s.sequenceId, { enrollment_ids: [s.m.enrollment_id], restart_anyway: true })).outcomes).toEqual({
      restarted: 1,
    });
  });
});

describe("restart and add of someone who replied to the sequence", () => {
  beforeEach(() => startSimulation());

  it("a reply to the last step (the run had finished as completed_all_steps) blocks the restart as replied unless restart_anyway", async () => {
    const s = await sentFirst({ waits: [0] });
    expect((await handleInbound(env, replyTo(s.m))).kind).toBe("reply");
    const to = countTransport(s.mailboxId);
    const api = client(s.session).api;

    const r = await restart(api, s.sequenceId, { enrollment_ids: [s.m.enrollment_id] });
    expect(r.results[0]).toMatchObject({
      outcome: "blocked",
      reason_code: "replied",
      reason: "Contact replied: not restarted (restart anyway to email them again)",
    });
    await runUntil(now() + HOUR);
    expect(to).toEqual([]);

    expect((await restart(api, s.sequenceId, { enrollment_ids: [s.m.enrollment_id], restart_anyway: true })).outcomes).toEqual({
      restarted: 1,
    });
    await runUntil(now() + HOUR);
    expect(to).toHaveLength(1);
  });

  it("a sequence that keeps going on replies: an open run that replied is not restarted from step 1 without restart_anyway", async () => {
    const s = await sentFirst({ settings: { finish_on_reply: false } });
    await handleInbound(env, replyTo(s.m));
    const r = await restart(client(s.session).api, s.sequenceId, { enrollment_ids: [s.m.enrollment_id] });
    expect(r.results[0]).toMatchObject({ outcome: "blocked", reason_code: "replied" });
    expect(
      (await env.DB.prepare("SELECT status FROM enrollments WHERE id = ?").bind(s.m.enrollment_id).first<{ status: string }>())!.status,
    ).toBe("active");
  });

  it("adding again one whose reply came after the last step, or the twin of one who replied, warns replied_in_sequence", async () => {
    const s = await sentFirst({ n: 2 });
    const [x, y] = s.sent;
    // y replies: their run finishes as replied, and their twin is the same inbox.
    await handleInbound(env, replyTo(y!));
    // x goes through both steps (completed_all_steps), then answers: the run's reason stays.
    await runUntil(now() + 2 * DAY);
    await handleInbound(env, replyTo(x!));
    expect(
      (await env.DB.prepare("SELECT reason FROM enrollments WHERE id = ?").bind(x!.enrollment_id).first<{ reason: string }>())!.reason,
    ).toBe("completed_all_steps");
    const api = client(s.session).api;
    const twin = await twinOf(s.teamId, y!.to_email);
    const [stranger] = await makeContacts(s.teamId, 1);

    const pv = await ok(
      api.sequences[":id"]["add-contacts"].preview.$post({
        param: { id: s.sequenceId },
        query: {},
        json: { source: { contact_ids: [x!.contact_id, twin, stranger!] } },
      }),
    );
    const shown = Object.fromEntries(pv.contacts.map((c) => [c.contact_id, c.reasons]));
    expect(shown[x!.contact_id]).toContain("replied_in_sequence");
    expect(shown[twin]).toContain("replied_in_sequence");
    expect(shown[stranger!]).not.toContain("replied_in_sequence");
  });
});
