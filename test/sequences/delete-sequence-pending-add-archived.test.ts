// What the sequence delete says and allows when nobody is in the sequence. A scheduled add-contacts job (nobody
// added yet) was refused as "Contacts were being added" and listed as in_use "contacts": the menu said
// contacts were added. Now in_use tells the three apart (contacts / add_pending / add_history), and the 409's
// words follow the same in_use (inUseSql decides both). An add that finished adding nobody, or was cancelled,
// still keeps the sequence (its job record is shown through it). An archived sequence nobody was added to
// can be deleted like any other.
import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { client, env, errorOf, ok } from "../helpers";
import { addContactsSetup, makeContacts, startSimulation, waitForJob } from "../fixtures";

const count = async (q: string, ...args: unknown[]) =>
  (await env.DB.prepare(q)
    .bind(...args)
    .first<{ n: number }>())!.n;

const rowsOf = async (sequenceId: string) => ({
  sequence: await count("SELECT count(*) n FROM sequences WHERE id = ?", sequenceId),
  steps: await count("SELECT count(*) n FROM steps WHERE sequence_id = ?", sequenceId),
  jobs: await count("SELECT count(*) n FROM jobs WHERE sequence_id = ?", sequenceId),
  enrollments: await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", sequenceId),
});

type Setup = Awaited<ReturnType<typeof addContactsSetup>>;

/** in_use as the list and the editor answer it (both must agree). */
async function inUse(x: Setup) {
  const api = client(x.s).api;
  const listed = await ok(api.sequences.$get({ query: { status: "all" } }));
  const one = await ok(api.sequences[":id"].$get({ param: { id: x.sequenceId } }));
  const fromList = listed.sequences.find((s) => s.id === x.sequenceId)?.in_use;
  expect(fromList).toBe(one.sequence.in_use);
  return one.sequence.in_use;
}

const del = (x: Setup) => client(x.s).api.sequences[":id"].$delete({ param: { id: x.sequenceId } });

/** An add of these contacts through the API, at `addAt` (now when left out). */
async function add(x: Setup, contactIds: string[], addAt?: number) {
  const { job } = await ok(
    client(x.s).api.sequences[":id"]["add-contacts"].$post({
      param: { id: x.sequenceId },
      header: {},
      json: { source: { contact_ids: contactIds }, mailbox_ids: x.mailboxIds, ...(addAt ? { add_at: addAt } : {}) },
    }),
    202,
  );
  return job.id;
}

describe("deleting a sequence nobody is in", () => {
  beforeEach(() => startSimulation());

  it("with only a scheduled add: in_use add_pending, and the 409 says an add is scheduled, not that contacts were added", async () => {
    const x = await addContactsSetup();
    const [c] = await makeContacts(x.teamId, 1);
    const jobId = await add(x, [c!], now() + 86_400_000);
    expect(await count("SELECT count(*) n FROM jobs WHERE id = ? AND status = 'scheduled'", jobId)).toBe(1);
    const before = await rowsOf(x.sequenceId);
    expect(before).toMatchObject({ sequence: 1, jobs: 1, enrollments: 0 });

    expect(await inUse(x)).toBe("add_pending");
    const res = await del(x);
    expect(res.status).toBe(409);
    expect(await errorOf(res)).toMatchObject({
      code: "sequence_has_history",
      message: "An add of contacts to it is scheduled or under way (nobody is in it yet): archive it instead, which stops the add",
      details: { people: 0, in_use: "add_pending" },
    });
    expect(await rowsOf(x.sequenceId)).toEqual(before);
  });

  it("after that add is cancelled: in_use add_history, refused with those words, and the sequence and its job stay", async () => {
    const x = await addContactsSetup();
    const [c] = await makeContacts(x.teamId, 1);
    const jobId = await add(x, [c!], now() + 86_400_000);
    await ok(client(x.s).api.jobs[":id"].cancel.$post({ param: { id: jobId } }));
    expect(await count("SELECT count(*) n FROM jobs WHERE id = ? AND status = 'cancelled'", jobId)).toBe(1);
    const before = await rowsOf(x.sequenceId);

    expect(await inUse(x)).toBe("add_history");
    const res = await del(x);
    expect(await errorOf(res)).toMatchObject({
      status: 409,
      code: "sequence_has_history",
      message: "An add of contacts to it finished or was cancelled (nobody is in it): its record stays with it, so archive it instead",
      details: { people: 0, in_use: "add_history" },
    });
    expect(await rowsOf(x.sequenceId)).toEqual(before);
  });

  it("after an add that ran and skipped everyone: in_use add_history, refused, nothing goes", async () => {
    const x = await addContactsSetup();
    const [c] = await makeContacts(x.teamId, 1);
    await env.DB.prepare("UPDATE contacts SET unsubscribed_at = 1 WHERE id = ?").bind(c).run();
    expect(await waitForJob(await add(x, [c!]))).toMatchObject({ status: "completed", enrolled: 0, skipped: 1 });
    const before = await rowsOf(x.sequenceId);
    expect(before).toMatchObject({ sequence: 1, jobs: 1, enrollments: 0 });

    expect(await inUse(x)).toBe("add_history");
    expect(await errorOf(await del(x))).toMatchObject({ status: 409, code: "sequence_has_history", details: { in_use: "add_history" } });
    expect(await rowsOf(x.sequenceId)).toEqual(before);
  });

  it("with an add that added someone: in_use contacts and the 409 counts them", async () => {
    const x = await addContactsSetup();
    const [c] = await makeContacts(x.teamId, 1);
    expect(await waitForJob(await add(x, [c!]))).toMatchObject({ status: "completed", enrolled: 1 });
    const before = await rowsOf(x.sequenceId);

    expect(await inUse(x)).toBe("contacts");
    expect(await errorOf(await del(x))).toMatchObject({
      status: 409,
      code: "sequence_has_history",
      message: "1 person was added to it: archive it instead, its reports and replies stay",
      details: { people: 1, in_use: "contacts" },
    });
    expect(await rowsOf(x.sequenceId)).toEqual(before);
  });

  it("archived, with nobody ever added: in_use null, and it is deleted with its steps", async () => {
    const x = await addContactsSetup();
    await ok(client(x.s).api.sequences[":id"].archive.$post({ param: { id: x.sequenceId } }));
    expect(await count("SELECT count(*) n FROM sequences WHERE id = ? AND archived_at IS NOT NULL", x.sequenceId)).toBe(1);
    const listed = await ok(client(x.s).api.sequences.$get({ query: { status: "archived" } }));
    expect(listed.sequences.find((s) => s.id === x.sequenceId)).toMatchObject({ in_use: null, can_manage: true });

    expect(await ok(del(x))).toEqual({ deleted: true });
    expect(await rowsOf(x.sequenceId)).toEqual({ sequence: 0, steps: 0, jobs: 0, enrollments: 0 });
    expect(await count("SELECT count(*) n FROM audit_log WHERE target_id = ? AND action = 'sequence.delete'", x.sequenceId)).toBe(1);
  });
});
