// A reply's effect reaches every live contact with the address (a duplicate contact record, allowed as in
// Apollo): the duplicate whose run it stopped shows the reply too, in its timeline and in the inbox filtered
// to it, and the inbox row says which contact record the stopped run was.
import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { now } from "../../worker/lib/clock";
import { client, env, ok } from "../helpers";
import { HOUR, enroll, makeContacts, makeSequence, runUntil, startSimulation } from "../fixtures";
import { enrollmentRow, replyTo, sentFirst } from "./mail";

describe("a reply threaded to one contact record shows on the duplicate whose run it stopped", () => {
  beforeEach(() => startSimulation());

  it("reply to A finishes B's run (same address): B's timeline and GET /replies?contact_id=B show it", async () => {
    const s = await sentFirst();
    const [b, stranger] = await makeContacts(s.teamId, 2);
    await env.DB.prepare("UPDATE contacts SET email = ?, first_name = 'Bee', last_name = 'Twin' WHERE id = ?")
      .bind(s.m.to_email.toUpperCase(), b)
      .run();
    const { sequenceId: t } = await makeSequence(s.teamId, s.userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
    await enroll(s.teamId, t, [b!, stranger!], [s.mailboxId]);
    await runUntil(now() + HOUR);
    const runB = (await env.DB.prepare("SELECT id FROM enrollments WHERE sequence_id = ? AND contact_id = ?")
      .bind(t, b)
      .first<{ id: string }>())!.id;

    const r = await handleInbound(env, replyTo(s.m));
    expect(r.kind).toBe("reply");
    expect(await enrollmentRow(runB)).toMatchObject({ status: "finished", reason: "replied" });
    const api = client(s.session).api;

    const timeline = await ok(api.contacts[":id"].timeline.$get({ param: { id: b! }, query: {} }));
    expect(timeline.events.filter((e) => e.kind === "reply").map((e) => e.id)).toEqual([`reply:${r.inboundId}`]);

    const listed = await ok(api.replies.$get({ query: { contact_id: b! } }));
    expect(listed.replies.map((x) => x.id)).toEqual([r.inboundId]);
    expect(listed.pagination.total_entries).toBe(1);
    const row = listed.replies[0]!;
    // The row is A's email; the run it stopped in T was B's, named as the other contact record.
    expect(row.contact?.id).toBe(s.m.contact_id);
    expect(row.applied_to).toEqual(
      expect.arrayContaining([
        { sequence_id: s.sequenceId, sequence_name: expect.any(String), action: "finish", enrollments: 1 },
        { sequence_id: t, sequence_name: expect.any(String), action: "finish", enrollments: 1, contact: { id: b, name: "Bee Twin" } },
      ]),
    );
    expect(row.applied_to).toHaveLength(2);

    // A still sees it; a contact with another address does not.
    expect((await ok(api.replies.$get({ query: { contact_id: s.m.contact_id } }))).replies.map((x) => x.id)).toEqual([r.inboundId]);
    expect((await ok(api.replies.$get({ query: { contact_id: stranger! } }))).replies).toEqual([]);
    const strangerTimeline = await ok(api.contacts[":id"].timeline.$get({ param: { id: stranger! }, query: {} }));
    expect(strangerTimeline.events.filter((e) => e.kind === "reply")).toEqual([]);
  });
});
