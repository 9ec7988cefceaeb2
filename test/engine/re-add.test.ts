import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { client, env, ok } from "../helpers";
import { addContactsSetup, makeContacts, waitForJob } from "../fixtures";

// Invariant 1 is "at most once at a time": a finished or removed contact can be added again, and its
// history stays (issue 9, defect 8, through the add-contacts pipeline).
beforeEach(() => resetClock());

describe("adding a contact again", () => {
  it("a finished or removed contact can be added again; a contact still in the sequence is skipped", async () => {
    const x = await addContactsSetup();
    const [finished, removed, active] = await makeContacts(x.teamId, 3);
    const seq = client(x.s).api.sequences[":id"];
    const param = { id: x.sequenceId };
    const add = async (ids: string[]) => {
      const { job } = await ok(
        seq["add-contacts"].$post({ param, header: {}, json: { source: { contact_ids: ids }, mailbox_ids: x.mailboxIds } }),
        202,
      );
      return waitForJob(job.id);
    };
    expect(await add([finished!, removed!, active!])).toMatchObject({ status: "completed", enrolled: 3 });
    const ids = async (contact: string) =>
      (
        await env.DB.prepare("SELECT id, status FROM enrollments WHERE sequence_id = ? AND contact_id = ? ORDER BY created_at, id")
          .bind(x.sequenceId, contact)
          .all<{ id: string; status: string }>()
      ).results;
    const [ef] = await ids(finished!);
    const [er] = await ids(removed!);
    expect(
      (await seq.enrollments[":action"].$post({ param: { ...param, action: "finish" }, json: { enrollment_ids: [ef!.id] } })).status,
    ).toBe(200);
    expect(
      (await seq.enrollments[":action"].$post({ param: { ...param, action: "remove" }, json: { enrollment_ids: [er!.id] } })).status,
    ).toBe(200);

    const preview = await ok(
      seq["add-contacts"].preview.$post({
        param,
        query: {},
        json: { source: { contact_ids: [finished!, removed!, active!] }, mailbox_ids: x.mailboxIds },
      }),
    );
    const outcome = (id: string) => preview.contacts.find((c) => c.contact_id === id);
    expect(outcome(finished!)!.outcome).toBe("enrolled");
    expect(outcome(removed!)!.outcome).toBe("enrolled");
    expect(outcome(active!)).toMatchObject({ outcome: "skipped", reasons: ["already_in_sequence"] });

    expect(await add([finished!, removed!, active!])).toMatchObject({ status: "completed", enrolled: 2, skipped: 1 });
    const f = await ids(finished!);
    expect(f.map((e) => e.status)).toEqual(["finished", "active"]);
    expect(f[0]!.id).toBe(ef!.id);
    expect((await ids(removed!)).map((e) => e.status)).toEqual(["removed", "active"]);
    expect((await ids(active!)).map((e) => e.status)).toEqual(["active"]);
  });
});
