import { beforeEach, describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { now, resetClock } from "../../worker/lib/clock";
import { client, env, ok, type Session } from "../helpers";
import { addContactsSetup, makeContacts, makeMailbox, waitForJob } from "../fixtures";

const addContacts = (s: Session) => client(s).api.sequences[":id"]["add-contacts"];
type PreviewBody = Parameters<ReturnType<typeof addContacts>["preview"]["$post"]>[0]["json"];
const preview = (s: Session, seq: string, json: PreviewBody) => ok(addContacts(s).preview.$post({ param: { id: seq }, query: {}, json }));

async function teammate(teamId: string) {
  const id = newId();
  await env.DB.prepare(
    "INSERT INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, 'Teammate', 'member', 'x', ?)",
  )
    .bind(id, teamId, `${id}@sim.test`, now())
    .run();
  return id;
}

beforeEach(() => resetClock());

describe("add-contacts pipeline fixes (issue 13)", () => {
  it("adds a teammate's contact without holding it back when the sequence allows teammates' contacts", async () => {
    const x = await addContactsSetup();
    const mate = await teammate(x.teamId);
    const [theirs, mine] = await makeContacts(x.teamId, 2);
    await env.DB.prepare("UPDATE contacts SET owner_id = ? WHERE id = ?").bind(mate, theirs).run();
    const p = await preview(x.s, x.sequenceId, { source: { contact_ids: [theirs!, mine!] } });
    expect(p.totals).toMatchObject({ enrolled: 2, warned: 0, skipped: 0 });
    expect(p.warnings).toEqual([]);
    // and the sequence setting still refuses them when it is off
    await env.DB.prepare("UPDATE sequences SET settings = '{\"allow_other_owners\":false}' WHERE id = ?").bind(x.sequenceId).run();
    const strict = await preview(x.s, x.sequenceId, { source: { contact_ids: [theirs!] } });
    expect(strict.contacts[0]).toMatchObject({ outcome: "skipped", reasons: ["ownership_not_permitted"] });
  });

  it("answers a sequence's blocking preconditions before any contact is picked", async () => {
    const x = await addContactsSetup();
    const preconditions = () => ok(addContacts(x.s).preconditions.$get({ param: { id: x.sequenceId }, query: {} }));
    expect((await preconditions()).preconditions).toEqual([]);
    await env.DB.batch([
      env.DB.prepare("UPDATE sequences SET active = 0 WHERE id = ?").bind(x.sequenceId),
      env.DB.prepare("UPDATE steps SET enabled = 0 WHERE sequence_id = ?").bind(x.sequenceId),
      env.DB.prepare("UPDATE mailboxes SET status = 'disconnected' WHERE team_id = ?").bind(x.teamId),
    ]);
    const b = await preconditions();
    expect(b.preconditions.map((p) => p.code)).toEqual(["sequence_inactive", "no_enabled_steps", "no_connected_mailbox"]);
    expect(b.preconditions.every((p) => p.fix.length > 0)).toBe(true);
    expect((await env.DB.prepare("SELECT count(*) n FROM jobs WHERE team_id = ?").bind(x.teamId).first<{ n: number }>())!.n).toBe(0);
  });

  it("says how many skipped contacts have several reasons, so reason counts can add up to more than the skipped total", async () => {
    const x = await addContactsSetup();
    const [both, one] = await makeContacts(x.teamId, 2);
    await env.DB.batch([
      env.DB.prepare("UPDATE contacts SET unsubscribed_at = 1, stage_id = ? WHERE id = ?").bind(`${x.teamId}-dnc`, both),
      env.DB.prepare("UPDATE contacts SET unsubscribed_at = 1 WHERE id = ?").bind(one),
    ]);
    const p = await preview(x.s, x.sequenceId, { source: { contact_ids: [both!, one!] } });
    expect(p.totals.skipped).toBe(2);
    expect(p.totals.reasons).toMatchObject({ unsubscribed: 2, do_not_contact: 1 });
    expect(p.totals.with_several_reasons).toBe(1);
  });

  it("rotates an admin's sequence by default only over the admin's own mailboxes, never a teammate's personal inbox", async () => {
    const x = await addContactsSetup();
    const mate = await teammate(x.teamId);
    const theirs = await makeMailbox(x.teamId, mate, { daily: 1000 });
    const ids = await makeContacts(x.teamId, 4);
    const p = await preview(x.s, x.sequenceId, { source: { contact_ids: ids } });
    expect(p.mailboxes.map((m) => m.mailbox_id)).toEqual([x.mailboxIds[0]]);
    expect(p.contacts.every((c) => c.mailbox_id === x.mailboxIds[0])).toBe(true);
    expect(p.contacts.some((c) => c.mailbox_id === theirs)).toBe(false);
  });

  it("splits contacts evenly over the chosen mailboxes with rotation 'even', and by most remaining capacity by default", async () => {
    const x = await addContactsSetup({ mailboxes: [{ daily: 100 }, { daily: 10 }] });
    const ids = await makeContacts(x.teamId, 6);
    const body = { source: { contact_ids: ids }, mailbox_ids: x.mailboxIds };
    const capacity = await preview(x.s, x.sequenceId, body);
    const assigned = (p: typeof capacity, id: string) => p.mailboxes.find((m) => m.mailbox_id === id)!.assigned;
    expect(assigned(capacity, x.mailboxIds[0]!)).toBe(6);
    const even = await preview(x.s, x.sequenceId, { ...body, rotation: "even" });
    expect(assigned(even, x.mailboxIds[0]!)).toBe(3);
    expect(assigned(even, x.mailboxIds[1]!)).toBe(3);
  });

  it("an even split holds when the job is committed: enrollments are spread over both mailboxes", async () => {
    const x = await addContactsSetup({ mailboxes: [{ daily: 100 }, { daily: 10 }] });
    const ids = await makeContacts(x.teamId, 4);
    const { job } = await ok(
      addContacts(x.s).$post({
        param: { id: x.sequenceId },
        header: {},
        json: { source: { contact_ids: ids }, mailbox_ids: x.mailboxIds, rotation: "even" },
      }),
      202,
    );
    await waitForJob(job.id);
    const { results } = await env.DB.prepare(
      "SELECT mailbox_id, count(*) n FROM enrollments WHERE sequence_id = ? GROUP BY mailbox_id ORDER BY mailbox_id",
    )
      .bind(x.sequenceId)
      .all<{ mailbox_id: string; n: number }>();
    expect(results.map((r) => r.n)).toEqual([2, 2]);
  });
});
