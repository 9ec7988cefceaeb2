import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { engine, sequenceStub, type EnrollItem } from "../../durable-objects/engine";
import { OPEN_FOR_CONTACTS } from "../../durable-objects/sequence-do";
import { env } from "../helpers";
import { addContactsSetup, makeContacts } from "../fixtures";

// Enrolling checks each page of contacts for an open enrollment in the sequence (invariant 1). That
// lookup must go by contact: through the status index it walked every open enrollment of the
// sequence for each page of 500, so a 100,000-contact add did about 10 million row visits.
describe("SequenceDO.enroll's open-enrollment check", () => {
  it("looks the page's contacts up by contact_id, not by status", async () => {
    const x = await addContactsSetup();
    const contacts = await makeContacts(x.teamId, 20);
    const items: EnrollItem[] = contacts.map((c, i) => ({
      enrollmentId: `plan-${i}`,
      contactId: c,
      mailboxId: x.mailboxIds[0]!,
      score: 1,
      timeZone: null,
    }));
    await engine.sequence(env, x.sequenceId, x.teamId).enroll(items);
    const plan = await runInDurableObject(sequenceStub(env, x.sequenceId), (_o, state) =>
      [...state.storage.sql.exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${OPEN_FOR_CONTACTS}`, JSON.stringify(contacts))]
        .map((r) => r.detail)
        .join("; "),
    );
    expect(plan).toMatch(/SEARCH enrollments USING (COVERING )?INDEX enrollments_(open_)?contact \(contact_id=\?\)/);
    expect(plan).not.toMatch(/enrollments_status/);
    // And it still answers what invariant 1 needs: these contacts are open here.
    const open = await runInDurableObject(sequenceStub(env, x.sequenceId), (_o, state) =>
      [...state.storage.sql.exec<{ contact_id: string }>(OPEN_FOR_CONTACTS, JSON.stringify(contacts))].map((r) => r.contact_id),
    );
    expect(new Set(open)).toEqual(new Set(contacts));
  });
});
