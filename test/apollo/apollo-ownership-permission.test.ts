// Apollo's contacts_without_ownership_permission ("true to add contacts even if you don't have ownership permission
// for them"): the sequence's "teammates' contacts" setting is the permission and the upper bound. An explicit false
// leaves a teammate's contact out with Apollo's code; true or absent add what the sequence takes.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup, makeContacts, makeUser } from "../fixtures";
import { call, env } from "../helpers";
import { masterKey } from "./apollo-key";

type Answer = {
  contacts: { id: string }[];
  skipped_contact_ids: Record<string, string>;
  seqflare: { outcomes: { contact_id: string; outcome: string; reasons: { code: string }[] }[] };
};

const add = async (key: string, sequenceId: string, body: Record<string, unknown>) => {
  const res = await call(`/apollo/api/v1/emailer_campaigns/${sequenceId}/add_contact_ids`, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Answer;
};

/** The contacts of the sequence, as its enrollment rows say. */
const inSequence = async (sequenceId: string) =>
  (
    await env.DB.prepare("SELECT contact_id FROM enrollments WHERE sequence_id = ? ORDER BY contact_id").bind(sequenceId).all<{
      contact_id: string;
    }>()
  ).results.map((r) => r.contact_id);

beforeEach(() => resetClock());

describe("Apollo add_contact_ids: contacts_without_ownership_permission", () => {
  /** A sequence that takes teammates' contacts (or not), with one contact of the caller's, one a teammate's, one nobody's. */
  async function setup(allowOtherOwners: boolean) {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const teammate = await makeUser(x.teamId);
    const [mine, theirs, nobodys] = await makeContacts(x.teamId, 3);
    await env.DB.batch([
      env.DB.prepare("UPDATE contacts SET owner_id = ? WHERE id = ?").bind(x.userId, mine),
      env.DB.prepare("UPDATE contacts SET owner_id = ? WHERE id = ?").bind(teammate, theirs),
      env.DB.prepare("UPDATE sequences SET settings = ? WHERE id = ?").bind(
        JSON.stringify({ allow_other_owners: allowOtherOwners }),
        x.sequenceId,
      ),
    ]);
    return { ...x, key, mine: mine!, theirs: theirs!, nobodys: nobodys! };
  }

  it("false leaves a teammate's contact out with Apollo's code, though the sequence takes teammates' contacts", async () => {
    const x = await setup(true);
    const body = await add(x.key, x.sequenceId, {
      contact_ids: [x.mine, x.theirs, x.nobodys],
      contacts_without_ownership_permission: false,
    });
    expect(body.skipped_contact_ids).toEqual({ [x.theirs]: "contacts_without_ownership_permission" });
    expect(body.contacts.map((c) => c.id).sort()).toEqual([x.mine, x.nobodys].sort());
    expect(body.seqflare.outcomes.find((o) => o.contact_id === x.theirs)).toMatchObject({
      outcome: "skipped",
      reasons: [{ code: "ownership_not_permitted" }],
    });
    expect(await inSequence(x.sequenceId)).toEqual([x.mine, x.nobodys].sort());
  });

  it("the string 'false' of a query or form is false too", async () => {
    const x = await setup(true);
    const res = await call(
      `/apollo/api/v1/emailer_campaigns/${x.sequenceId}/add_contact_ids?contact_ids[]=${x.theirs}&contacts_without_ownership_permission=false`,
      { method: "POST", headers: { "x-api-key": x.key } },
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as Answer).skipped_contact_ids).toEqual({ [x.theirs]: "contacts_without_ownership_permission" });
    expect(await inSequence(x.sequenceId)).toEqual([]);
  });

  it("true or absent add a teammate's contact when the sequence takes them", async () => {
    for (const flag of [true, undefined]) {
      const x = await setup(true);
      const body = await add(x.key, x.sequenceId, {
        contact_ids: [x.mine, x.theirs, x.nobodys],
        ...(flag === undefined ? {} : { contacts_without_ownership_permission: flag }),
      });
      expect(body.skipped_contact_ids).toEqual({});
      expect(await inSequence(x.sequenceId)).toEqual([x.mine, x.theirs, x.nobodys].sort());
    }
  });

  it("true can't widen a sequence that takes only your own contacts; absent keeps it", async () => {
    for (const flag of [true, undefined]) {
      const x = await setup(false);
      const body = await add(x.key, x.sequenceId, {
        contact_ids: [x.mine, x.theirs, x.nobodys],
        ...(flag === undefined ? {} : { contacts_without_ownership_permission: flag }),
      });
      expect(body.skipped_contact_ids).toEqual({ [x.theirs]: "contacts_without_ownership_permission" });
      expect(await inSequence(x.sequenceId)).toEqual([x.mine, x.nobodys].sort());
    }
  });
});
