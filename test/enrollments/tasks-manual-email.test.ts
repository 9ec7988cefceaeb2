import { beforeEach, describe, expect, it } from "vitest";
import { pickVariant } from "../../durable-objects/compose";
import { now } from "../../worker/lib/clock";
import { client, env, ok } from "../helpers";
import { DAY, HOUR, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";

// A manual email step becomes a task for the rep to send the draft themselves: the Tasks API hands them
// that draft, written for the contact (the variant they get, their values), as the automatic email would be.
beforeEach(() => startSimulation());

const A = { subject: "Pricing for {{company}}", body: "Hi {{first_name}},\n\n{{custom.seats}} seats? {{sender_first_name}}" };
const B = { subject: "{{first_name}}, a question", body: "Hello {{first_name|there}}, {{title}} at {{company}}" };

describe("a manual email's task carries its draft", () => {
  it("each contact's task has the variant they get, rendered with their values, and names the values missing", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(
      teamId,
      userId,
      [
        { type: "manual_email", wait: 0, variants: [A, B] },
        { type: "call", wait: 0 },
      ],
      null,
    );
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    const contacts = await makeContacts(teamId, 6);
    await enroll(teamId, sequenceId, contacts, [mb]);
    await runUntil(now() + HOUR);

    const { tasks } = await ok(api.tasks.$get({ query: { view: "open", per_page: "50" } }));
    expect(tasks).toHaveLength(6);
    const runs = (
      await env.DB.prepare("SELECT id, contact_id FROM enrollments WHERE sequence_id = ?")
        .bind(sequenceId)
        .all<{ id: string; contact_id: string }>()
    ).results;
    // The variant each contact gets rests on the variants' ids (rendezvous hashing): A and B as D1 holds them.
    const [va, vb] = (
      await env.DB.prepare(
        "SELECT v.id FROM step_variants v JOIN steps s ON s.id = v.step_id WHERE s.sequence_id = ? AND s.type = 'manual_email' ORDER BY v.label",
      )
        .bind(sequenceId)
        .all<{ id: string }>()
    ).results.map((r, k) => ({ ...(k === 0 ? A : B), id: r.id }));
    const seen = new Set<string>();
    for (const t of tasks) {
      const i = contacts.indexOf(t.contact!.id);
      const run = runs.find((r) => r.contact_id === t.contact!.id)!.id;
      const v = pickVariant([va!, vb!], run)!;
      seen.add(v.subject);
      expect(t.draft).toEqual(
        v === va
          ? { subject: "Pricing for Acme", body: `Hi First${i},\n\n seats? Sim`, reply_in_thread: false, missing: ["custom.seats"] }
          : { subject: `First${i}, a question`, body: `Hello First${i},  at Acme`, reply_in_thread: false, missing: ["title"] },
      );
    }
    expect(seen.size).toBe(2); // both variants were given out, each to its own contacts

    // Other tasks have no draft.
    await Promise.all(tasks.map((t) => ok(api.tasks[":id"][":action"].$post({ param: { id: t.id, action: "complete" }, json: {} }))));
    await runUntil(now() + HOUR);
    const calls = await ok(api.tasks.$get({ query: { view: "open", per_page: "50" } }));
    expect(calls.tasks.map((t) => [t.type, t.draft])).toEqual(contacts.map(() => ["call", null]));
  });

  it("a manual email replying in the thread is drafted as the reply to the email the contact got", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(
      teamId,
      userId,
      [
        { wait: 0 },
        { type: "manual_email", wait: 1, threadReply: true, variants: [{ subject: "", body: "Following up, {{first_name}}" }] },
      ],
      null,
    );
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    await enroll(teamId, sequenceId, await makeContacts(teamId, 1), [mb]);
    await runUntil(now() + 2 * DAY);

    const { tasks } = await ok(api.tasks.$get({ query: { view: "open" } }));
    expect(tasks.map((t) => t.draft)).toEqual([
      { subject: "Re: Step 1 for First0", body: "Following up, First0", reply_in_thread: true, missing: [] },
    ]);
  });
});
