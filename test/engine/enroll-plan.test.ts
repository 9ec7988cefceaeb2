import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { engine, sequenceStub, type EnrollItem } from "../../durable-objects/engine";
import { HANDED_OVER_IN, HELD_PAGE, OPEN_FOR_CONTACTS } from "../../durable-objects/sequence-do";
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
    const planOf = (q: string, ...b: unknown[]) =>
      runInDurableObject(sequenceStub(env, x.sequenceId), (_o, state) =>
        [...state.storage.sql.exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${q}`, ...b)].map((r) => r.detail).join("; "),
      );
    expect(await planOf(OPEN_FOR_CONTACTS, JSON.stringify(contacts))).toMatch(
      /^SEARCH enrollments USING INDEX enrollments_open_contact \(contact_id=\?\)/,
    );
    // The other reads that name a status go by their own index, never a walk of the table.
    expect(await planOf(HANDED_OVER_IN, 1, 2)).toBe("SEARCH enrollments USING INDEX enrollments_rev (dirty>? AND dirty<?)");
    expect(await planOf(HELD_PAGE, 500)).toBe("SEARCH enrollments USING INDEX enrollments_held (status=?)");
    // Indexes a new row writes: the table's, its id, its open contact and its revision (the held one only while held).
    const indexes = await runInDurableObject(sequenceStub(env, x.sequenceId), (_o, state) =>
      [
        ...state.storage.sql.exec<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'enrollments' ORDER BY name",
        ),
      ].map((r) => r.name),
    );
    expect(indexes).toEqual(["enrollments_held", "enrollments_open_contact", "enrollments_rev", "sqlite_autoindex_enrollments_1"]);
    // And it still answers what invariant 1 needs: these contacts are open here.
    const open = await runInDurableObject(sequenceStub(env, x.sequenceId), (_o, state) =>
      [...state.storage.sql.exec<{ contact_id: string }>(OPEN_FOR_CONTACTS, JSON.stringify(contacts))].map((r) => r.contact_id),
    );
    expect(new Set(open)).toEqual(new Set(contacts));
  });
});
