// Teammates' contacts in an add: the preview says how many of the contacts to be added another user of the team owns
// (the sequence takes them, so they are added: information, not a hold), counted over the whole selection however
// many preview pages it takes; and a request may narrow the sequence's setting (allow_other_owners: false), never widen it.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { PLAN_PAGE } from "../../worker/services/add-contacts/request";
import { client, env, ok } from "../helpers";
import { addContactsSetup, makeContacts, makeList, makeUser } from "../fixtures";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];
type PreviewArgs = Parameters<ReturnType<typeof client>["api"]["sequences"][":id"]["add-contacts"]["preview"]["$post"]>[0];
const preview = (s: S, seq: string, json: PreviewArgs["json"]) =>
  client(s).api.sequences[":id"]["add-contacts"].preview.$post({ param: { id: seq }, query: { per_page: 10 }, json });

const count = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;

beforeEach(() => resetClock());

describe("contacts owned by teammates in the add preview", () => {
  it("counts, over a selection larger than one preview page, the contacts to be added that a teammate owns", async () => {
    const x = await addContactsSetup();
    const teammate = await makeUser(x.teamId);
    const n = PLAN_PAGE + 400;
    // Scores put every kind of contact on both preview pages (priority order: score, then id).
    const ids = await makeContacts(x.teamId, n, { score: (i) => 100 - (i % 90) });
    // A third the caller's, a third a teammate's, a third nobody's; a few of the teammate's are skipped or held back.
    const owner = (i: number) => (i % 3 === 0 ? x.userId : i % 3 === 1 ? teammate : null);
    const unsubscribed = (i: number) => i % 3 === 1 && i % 97 === 1;
    const unverified = (i: number) => i % 3 === 1 && i % 89 === 4;
    const stmts = [
      ...[x.userId, teammate].map((u) =>
        env.DB.prepare("UPDATE contacts SET owner_id = ? WHERE id IN (SELECT value FROM json_each(?))").bind(
          u,
          JSON.stringify(ids.filter((_, i) => owner(i) === u)),
        ),
      ),
      env.DB.prepare("UPDATE contacts SET unsubscribed_at = 1 WHERE id IN (SELECT value FROM json_each(?))").bind(
        JSON.stringify(ids.filter((_, i) => unsubscribed(i))),
      ),
      env.DB.prepare("UPDATE contacts SET email_status = 'unverified' WHERE id IN (SELECT value FROM json_each(?))").bind(
        JSON.stringify(ids.filter((_, i) => unverified(i) && !unsubscribed(i))),
      ),
    ];
    await env.DB.batch(stmts);
    // What the rows say: a teammate's, neither unsubscribed nor unverified (both kinds exist, so both are left out).
    const expected = await count(
      "SELECT count(*) n FROM contacts WHERE team_id = ? AND owner_id = ? AND unsubscribed_at IS NULL AND email_status = 'verified'",
      x.teamId,
      teammate,
    );
    expect(await count("SELECT count(*) n FROM contacts WHERE owner_id = ? AND unsubscribed_at IS NOT NULL", teammate)).toBeGreaterThan(0);
    expect(await count("SELECT count(*) n FROM contacts WHERE owner_id = ? AND email_status = 'unverified'", teammate)).toBeGreaterThan(0);
    const listId = await makeList(x.teamId, x.userId, ids);

    const p = await ok(preview(x.s, x.sequenceId, { source: { list_ids: [listId] } }));
    expect(p.totals.candidates).toBe(n);
    expect(p.totals.owned_by_teammates).toBe(expected);
    expect(expected).toBeGreaterThan(PLAN_PAGE / 3);
    // Information only: they are added like the rest (nothing held back or skipped for ownership).
    expect(p.totals.reasons.ownership_not_permitted).toBeUndefined();
    expect(p.totals.enrolled).toBe(
      await count("SELECT count(*) n FROM contacts WHERE team_id = ? AND unsubscribed_at IS NULL AND email_status = 'verified'", x.teamId),
    );

    // Overriding the warning adds the teammate's unverified contacts too: they are counted with the rest.
    const o = await ok(preview(x.s, x.sequenceId, { source: { list_ids: [listId] }, overrides: { unverified_email: true } }));
    expect(o.totals.owned_by_teammates).toBe(
      await count("SELECT count(*) n FROM contacts WHERE team_id = ? AND owner_id = ? AND unsubscribed_at IS NULL", x.teamId, teammate),
    );

    // The request narrows the sequence's setting: its teammates' contacts are skipped, so none are counted.
    const narrowed = await ok(preview(x.s, x.sequenceId, { source: { list_ids: [listId] }, allow_other_owners: false }));
    expect(narrowed.totals.owned_by_teammates).toBe(0);
    expect(narrowed.totals.reasons.ownership_not_permitted).toBe(
      await count("SELECT count(*) n FROM contacts WHERE team_id = ? AND owner_id = ?", x.teamId, teammate),
    );
  });

  it("counts none when the sequence takes only your own contacts, and a request can't widen that", async () => {
    const x = await addContactsSetup();
    const teammate = await makeUser(x.teamId);
    const [mine, theirs] = await makeContacts(x.teamId, 2);
    await env.DB.batch([
      env.DB.prepare("UPDATE contacts SET owner_id = ? WHERE id = ?").bind(x.userId, mine),
      env.DB.prepare("UPDATE contacts SET owner_id = ? WHERE id = ?").bind(teammate, theirs),
      env.DB.prepare("UPDATE sequences SET settings = '{\"allow_other_owners\":false}' WHERE id = ?").bind(x.sequenceId),
    ]);
    const p = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: [mine!, theirs!] }, allow_other_owners: true }));
    expect(p.totals).toMatchObject({ enrolled: 1, skipped: 1, owned_by_teammates: 0 });
    expect(p.contacts.find((c) => c.contact_id === theirs)).toMatchObject({ outcome: "skipped", reasons: ["ownership_not_permitted"] });
  });
});
