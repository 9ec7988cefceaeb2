// One person, one address: two contacts may share an email (POST /contacts without dedupe, Apollo's create
// without run_dedupe, a PATCH to another contact's address), and the checks that were per contact missed
// it: both got a run in one sequence (every step twice to one inbox), and Do Not Contact on one did not
// stop emails to the other.
import { beforeEach, describe, expect, it } from "vitest";
import { now, resetClock } from "../../worker/lib/clock";
import { client, env, ok } from "../helpers";
import { DAY, addContactsSetup, enroll, makeContacts, makeList, runUntil, startSimulation, waitForJob } from "../fixtures";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];
type AddContacts = ReturnType<typeof client>["api"]["sequences"][":id"]["add-contacts"];
type PreviewArgs = Parameters<AddContacts["preview"]["$post"]>[0];
const preview = (s: S, seq: string, json: PreviewArgs["json"]) =>
  client(s).api.sequences[":id"]["add-contacts"].preview.$post({ param: { id: seq }, query: {}, json });
const commit = (s: S, seq: string, json: Parameters<AddContacts["$post"]>[0]["json"]) =>
  client(s).api.sequences[":id"]["add-contacts"].$post({ param: { id: seq }, header: {}, json });
const enrolledContacts = async (sequenceId: string) =>
  (
    await env.DB.prepare("SELECT contact_id FROM enrollments WHERE sequence_id = ?").bind(sequenceId).all<{ contact_id: string }>()
  ).results.map((r) => r.contact_id);

/** Two contacts of the team with one address (the second's in capitals: an address is one whatever its case); `a` scores higher. */
async function twoContactsOneAddress(teamId: string) {
  const [a, b] = await makeContacts(teamId, 2, { score: (i) => (i === 0 ? 90 : 40) });
  await env.DB.prepare("UPDATE contacts SET email = (SELECT upper(email) FROM contacts WHERE id = ?) WHERE id = ?").bind(a, b).run();
  return { a: a!, b: b! };
}

beforeEach(() => resetClock());

describe("two contacts with one address", () => {
  it("added from one list: one run, the other skipped as duplicate_email in the preview and the job", async () => {
    const x = await addContactsSetup();
    const { a, b } = await twoContactsOneAddress(x.teamId);
    const [other] = await makeContacts(x.teamId, 1);
    const listId = await makeList(x.teamId, x.userId, [a, b, other!]);

    const pv = await ok(preview(x.s, x.sequenceId, { source: { list_ids: [listId] } }));
    const shown = Object.fromEntries(pv.contacts.map((c) => [c.contact_id, [c.outcome, c.reasons]]));
    expect(shown).toEqual({ [a]: ["enrolled", []], [b]: ["skipped", ["duplicate_email"]], [other!]: ["enrolled", []] });
    expect(pv.reasons.duplicate_email?.label).toBe("Same email as another contact");

    const { job } = await ok(commit(x.s, x.sequenceId, { source: { list_ids: [listId] } }), 202);
    expect(await waitForJob(job.id)).toMatchObject({ status: "completed", enrolled: 2, skipped: 1 });
    expect((await enrolledContacts(x.sequenceId)).sort()).toEqual([a, other!].sort());
    const skipped = await env.DB.prepare("SELECT reasons FROM job_outcomes WHERE job_id = ? AND contact_id = ?")
      .bind(job.id, b)
      .first<{ reasons: string }>();
    expect(JSON.parse(skipped!.reasons)).toEqual(["duplicate_email"]);
  });

  it("added later, the second is skipped while the first's run is open in the sequence", async () => {
    const x = await addContactsSetup();
    const { a, b } = await twoContactsOneAddress(x.teamId);
    const first = await ok(commit(x.s, x.sequenceId, { source: { contact_ids: [a] } }), 202);
    expect(await waitForJob(first.job.id)).toMatchObject({ enrolled: 1 });

    const pv = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: [b] } }));
    expect(pv.contacts[0]).toMatchObject({ contact_id: b, outcome: "skipped", reasons: ["duplicate_email"] });
    const { job } = await ok(commit(x.s, x.sequenceId, { source: { contact_ids: [b] } }), 202);
    expect(await waitForJob(job.id)).toMatchObject({ status: "completed", enrolled: 0, skipped: 1 });
    expect(await enrolledContacts(x.sequenceId)).toEqual([a]);
  });

  it("one in a Do Not Contact stage: adding the other is skipped as Do Not Contact", async () => {
    const x = await addContactsSetup();
    const { a, b } = await twoContactsOneAddress(x.teamId);
    await env.DB.prepare("UPDATE contacts SET stage_id = ? WHERE id = ?").bind(`${x.teamId}-dnc`, a).run();

    const pv = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: [b] } }));
    expect(pv.contacts[0]).toMatchObject({ contact_id: b, outcome: "skipped", reasons: ["do_not_contact"] });
    const { job } = await ok(commit(x.s, x.sequenceId, { source: { contact_ids: [b] }, skip_validation: true }), 202);
    expect(await waitForJob(job.id)).toMatchObject({ status: "completed", enrolled: 0, skipped: 1 });
    expect(await enrolledContacts(x.sequenceId)).toEqual([]);
  });

  it("one moved to Do Not Contact after the other was enrolled: the other is not emailed", async () => {
    startSimulation();
    const x = await addContactsSetup({ steps: [{ wait: 1 }, { wait: 1 }] });
    const { a, b } = await twoContactsOneAddress(x.teamId);
    const [plain] = await makeContacts(x.teamId, 1);
    await enroll(x.teamId, x.sequenceId, [b, plain!], x.mailboxIds);
    await env.DB.prepare("UPDATE contacts SET stage_id = ? WHERE id = ?").bind(`${x.teamId}-dnc`, a).run();

    await runUntil(now() + 7 * DAY);
    const sent = (
      await env.DB.prepare("SELECT contact_id, count(*) AS n FROM messages WHERE sequence_id = ? AND status = 'sent' GROUP BY contact_id")
        .bind(x.sequenceId)
        .all<{ contact_id: string; n: number }>()
    ).results;
    expect(sent).toEqual([{ contact_id: plain!, n: 2 }]);
    const run = await env.DB.prepare("SELECT status, reason FROM enrollments WHERE sequence_id = ? AND contact_id = ?")
      .bind(x.sequenceId, b)
      .first();
    expect(run).toMatchObject({ reason: "do_not_contact" });
  });
});
