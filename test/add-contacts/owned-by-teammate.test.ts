// DESIGN "Add contacts" step 3: a contact owned by someone else is a warning (owned_by_teammate) where the
// sequence allows teammates' contacts, and a skip (ownership_not_permitted) where it doesn't. A review saw a
// member's add silently take 63 contacts owned by three teammates: nothing said so, nothing held them back.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup, makeContacts, makeUser, waitForJob } from "../fixtures";
import { call, client, env, ok, type Session } from "../helpers";
import { masterKey } from "../apollo/apollo-key";

const addContacts = (s: Session) => client(s).api.sequences[":id"]["add-contacts"];
type Body = Parameters<ReturnType<typeof addContacts>["$post"]>[0]["json"];
const preview = (s: Session, seq: string, json: Body) => ok(addContacts(s).preview.$post({ param: { id: seq }, query: {}, json }));
const commit = async (s: Session, seq: string, json: Body) =>
  (await ok(addContacts(s).$post({ param: { id: seq }, header: {}, json }), 202)).job;
const outcomes = (s: Session, jobId: string) => ok(client(s).api.jobs[":id"].outcomes.$get({ param: { id: jobId }, query: {} }));

/** The contacts of these ids that have a run in the sequence, read back from D1. */
async function enrolledOf(sequenceId: string, ids: readonly string[]) {
  const { results } = await env.DB.prepare(
    `SELECT contact_id FROM enrollments WHERE sequence_id = ? AND contact_id IN (${ids.map(() => "?").join(",")}) ORDER BY contact_id`,
  )
    .bind(sequenceId, ...ids)
    .all<{ contact_id: string }>();
  return results.map((r) => r.contact_id);
}

/** A sequence of the caller, two of the caller's own contacts and three owned by two teammates. */
async function setup() {
  const x = await addContactsSetup();
  const [mate1, mate2] = [await makeUser(x.teamId), await makeUser(x.teamId)];
  const ids = await makeContacts(x.teamId, 5);
  const mine = ids.slice(0, 2);
  const theirs = ids.slice(2);
  await env.DB.batch([
    env.DB.prepare("UPDATE contacts SET owner_id = ? WHERE id IN (?, ?)").bind(x.userId, mine[0], mine[1]),
    env.DB.prepare("UPDATE contacts SET owner_id = ? WHERE id IN (?, ?)").bind(mate1, theirs[0], theirs[1]),
    env.DB.prepare("UPDATE contacts SET owner_id = ? WHERE id = ?").bind(mate2, theirs[2]),
  ]);
  return { ...x, ids, mine, theirs: [...theirs].sort() };
}

beforeEach(() => resetClock());

describe("add contacts: a teammate's contact is a warning", () => {
  it("the preview counts it under 'Owned by a teammate' and holds it back; the override and skip validation add it", async () => {
    const x = await setup();
    const p = await preview(x.s, x.sequenceId, { source: { contact_ids: x.ids } });
    expect(p.totals).toMatchObject({ candidates: 5, enrolled: 2, warned: 3, skipped: 0 });
    expect(p.warnings).toEqual([
      expect.objectContaining({ category: "owned_by_teammate", label: "Owned by a teammate", count: 3, held_back: 3, overridden: false }),
    ]);
    const r = Object.fromEntries(p.contacts.map((c) => [c.contact_id, [c.outcome, c.reasons]]));
    for (const id of x.theirs) expect(r[id]).toEqual(["warned", ["owned_by_teammate"]]);
    for (const id of x.mine) expect(r[id]).toEqual(["enrolled", []]);
    const o = await preview(x.s, x.sequenceId, { source: { contact_ids: x.ids }, overrides: { owned_by_teammate: true } });
    expect(o.totals).toMatchObject({ enrolled: 5, warned: 0 });
    expect(o.warnings).toMatchObject([{ category: "owned_by_teammate", count: 3, overridden: true }]);
    const all = await preview(x.s, x.sequenceId, { source: { contact_ids: x.ids }, skip_validation: true });
    expect(all.totals).toMatchObject({ enrolled: 5, warned: 0 });
  });

  it("a commit without the override adds only the caller's own; the job's outcomes name the category", async () => {
    const x = await setup();
    const job = await commit(x.s, x.sequenceId, { source: { contact_ids: x.ids } });
    expect(await waitForJob(job.id)).toMatchObject({ status: "completed", enrolled: 2, warned: 3, skipped: 0 });
    expect(await enrolledOf(x.sequenceId, x.theirs)).toEqual([]);
    expect(await enrolledOf(x.sequenceId, x.mine)).toEqual([...x.mine].sort());
    const out = await outcomes(x.s, job.id);
    const held = out.outcomes.filter((o) => o.outcome === "warned");
    expect(held.map((o) => o.contact_id).sort()).toEqual(x.theirs);
    expect(held.every((o) => o.reasons.join() === "owned_by_teammate")).toBe(true);
    expect(out.reasons.owned_by_teammate).toMatchObject({ label: "Owned by a teammate" });
  });

  it("a commit with the override, or with validation skipped, adds the teammates' contacts", async () => {
    const x = await setup();
    const a = await commit(x.s, x.sequenceId, { source: { contact_ids: x.theirs.slice(0, 2) }, overrides: { owned_by_teammate: true } });
    expect(await waitForJob(a.id)).toMatchObject({ enrolled: 2, warned: 0 });
    const b = await commit(x.s, x.sequenceId, { source: { contact_ids: x.theirs.slice(2) }, skip_validation: true });
    expect(await waitForJob(b.id)).toMatchObject({ enrolled: 1, warned: 0 });
    expect(await enrolledOf(x.sequenceId, x.theirs)).toEqual(x.theirs);
    // Added anyway, still named: the outcome keeps the warning it was added past.
    const out = await outcomes(x.s, a.id);
    expect(out.outcomes.map((o) => [o.outcome, o.reasons])).toEqual([
      ["enrolled", ["owned_by_teammate"]],
      ["enrolled", ["owned_by_teammate"]],
    ]);
  });

  it("a sequence that takes only its caller's contacts still skips them (ownership_not_permitted), override or not", async () => {
    const x = await setup();
    await env.DB.prepare("UPDATE sequences SET settings = '{\"allow_other_owners\":false}' WHERE id = ?").bind(x.sequenceId).run();
    const p = await preview(x.s, x.sequenceId, { source: { contact_ids: x.ids }, overrides: { owned_by_teammate: true } });
    expect(p.totals).toMatchObject({ enrolled: 2, warned: 0, skipped: 3 });
    expect(p.warnings).toEqual([]);
    const job = await commit(x.s, x.sequenceId, { source: { contact_ids: x.ids }, skip_validation: true });
    expect(await waitForJob(job.id)).toMatchObject({ enrolled: 2, skipped: 3 });
    expect(await enrolledOf(x.sequenceId, x.theirs)).toEqual([]);
    const out = await outcomes(x.s, job.id);
    expect(out.outcomes.filter((o) => o.outcome === "skipped").map((o) => o.reasons)).toEqual([
      ["ownership_not_permitted"],
      ["ownership_not_permitted"],
      ["ownership_not_permitted"],
    ]);
  });
});

describe("Apollo add_contact_ids: contacts_without_ownership_permission", () => {
  const add = (key: string, seq: string, body: Record<string, unknown>) =>
    call(`/apollo/api/v1/emailer_campaigns/${seq}/add_contact_ids`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json" },
      body: JSON.stringify(body),
    }).then(async (r) => {
      expect(r.status).toBe(200);
      return (await r.json()) as { contacts: { id: string }[]; skipped_contact_ids: Record<string, string> };
    });

  it("leaves a teammate's contact out as Apollo does (contacts_without_ownership_permission) unless the flag is true", async () => {
    const x = await setup();
    const key = await masterKey(x.teamId, x.userId);
    const first = await add(key, x.sequenceId, { contact_ids: x.ids, send_email_from_email_account_id: x.mailboxIds[0] });
    expect(first.contacts.map((c) => c.id).sort()).toEqual([...x.mine].sort());
    expect(first.skipped_contact_ids).toEqual(Object.fromEntries(x.theirs.map((id) => [id, "contacts_without_ownership_permission"])));
    expect(await enrolledOf(x.sequenceId, x.theirs)).toEqual([]);
    const second = await add(key, x.sequenceId, {
      contact_ids: x.theirs,
      send_email_from_email_account_id: x.mailboxIds[0],
      contacts_without_ownership_permission: true,
    });
    expect(second.contacts.map((c) => c.id).sort()).toEqual(x.theirs);
    expect(second.skipped_contact_ids).toEqual({});
    expect(await enrolledOf(x.sequenceId, x.theirs)).toEqual(x.theirs);
  });

  it("the flag doesn't lift a sequence's own rule: its teammates' contacts stay skipped", async () => {
    const x = await setup();
    const key = await masterKey(x.teamId, x.userId);
    await env.DB.prepare("UPDATE sequences SET settings = '{\"allow_other_owners\":false}' WHERE id = ?").bind(x.sequenceId).run();
    const r = await add(key, x.sequenceId, {
      contact_ids: x.theirs,
      send_email_from_email_account_id: x.mailboxIds[0],
      contacts_without_ownership_permission: true,
    });
    expect(r.contacts).toEqual([]);
    expect(r.skipped_contact_ids).toEqual(Object.fromEntries(x.theirs.map((id) => [id, "contacts_without_ownership_permission"])));
    expect(await enrolledOf(x.sequenceId, x.theirs)).toEqual([]);
  });
});
