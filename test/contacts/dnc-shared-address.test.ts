// Do Not Contact belongs to the address: two contacts of a team may share one (as in Apollo), and the send-time
// check already stops emails to both once either is marked. Before, marking one finished only that contact's
// runs: the other's run stayed active with its call task open, for someone to call a person who asked not to be
// contacted. Now every open run of the address finishes (do_not_contact), its tasks cancelled.
import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { env, ok } from "../helpers";
import { makeContacts, runUntil, startSimulation } from "../fixtures";
import { onACall } from "../enrollments/on-a-call";

beforeEach(() => startSimulation());

/** B on a call step with an open task, and A: another contact of the team with B's address (upper-cased), in no sequence. */
async function sharedAddress() {
  const x = await onACall(1);
  const [b] = x.contacts as [string];
  const [a] = (await makeContacts(x.teamId, 1)) as [string];
  await env.DB.prepare("UPDATE contacts SET email = (SELECT upper(email) FROM contacts WHERE id = ?) WHERE id = ?").bind(b, a).run();
  expect(await x.row(b)).toMatchObject({ status: "active", task_status: "open" });
  return { ...x, a, b, dnc: `${x.teamId}-dnc` };
}

describe("Do Not Contact on one of two contacts sharing an address", () => {
  it("by the contact's edit: the other's run finishes (do_not_contact) and its task is cancelled", async () => {
    const x = await sharedAddress();
    await ok(x.api.contacts[":id"].$patch({ param: { id: x.a }, json: { stage_id: x.dnc } }));
    await runUntil(now() + 10_000);
    expect(await x.row(x.b)).toMatchObject({ status: "finished", reason: "do_not_contact", task_status: "cancelled" });
  });

  it("by the stage action: the same", async () => {
    const x = await sharedAddress();
    expect((await ok(x.api.contacts.stage.$post({ json: { contact_ids: [x.a], stage_id: x.dnc } }))).updated).toBe(1);
    await runUntil(now() + 10_000);
    expect(await x.row(x.b)).toMatchObject({ status: "finished", reason: "do_not_contact", task_status: "cancelled" });
  });

  it("a deleted contact with the address doesn't count, and another address is left alone", async () => {
    const x = await sharedAddress();
    const [c] = (await makeContacts(x.teamId, 1)) as [string];
    // c is deleted, with B's address; marking it changes nothing for B (a deleted contact's stage rules nothing).
    await env.DB.prepare("UPDATE contacts SET email = (SELECT email FROM contacts WHERE id = ?), deleted_at = ? WHERE id = ?")
      .bind(x.b, now(), c)
      .run();
    await env.DB.prepare("UPDATE contacts SET stage_id = ? WHERE id = ?").bind(x.dnc, c).run();
    // A moves to another address first, then is marked: B keeps its run.
    await ok(x.api.contacts[":id"].$patch({ param: { id: x.a }, json: { email: "someone.else@example.test" } }));
    await ok(x.api.contacts[":id"].$patch({ param: { id: x.a }, json: { stage_id: x.dnc } }));
    await runUntil(now() + 10_000);
    expect(await x.row(x.b)).toMatchObject({ status: "active", task_status: "open" });
  });
});
