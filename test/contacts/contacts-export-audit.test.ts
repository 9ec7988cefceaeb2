// Exports of contacts' emails are on the audit log: who, when, which filters (or sequence) and how many rows.
// Before: neither GET /contacts/export (up to 100,000 contacts with their emails) nor a sequence's contacts
// export left any trace.
import { beforeEach, describe, expect, it } from "vitest";
import { call, client, env } from "../helpers";
import { enroll, makeContacts, makeList, makeMailbox, makeSequence, makeTeam, makeUser, sessionFor, startSimulation } from "../fixtures";

type Session = Awaited<ReturnType<typeof sessionFor>>;

const exportCsv = (s: Session, query = "") => call(`/api/contacts/export${query}`, { headers: { cookie: s.cookie } });

const auditOf = (teamId: string, action: string) =>
  env.DB.prepare(
    "SELECT user_id, api_key_id, target_type, target_id, details FROM audit_log WHERE team_id = ? AND action = ? ORDER BY created_at, id",
  )
    .bind(teamId, action)
    .all<{ user_id: string; api_key_id: string | null; target_type: string; target_id: string; details: string }>()
    .then((r) => r.results.map((a) => ({ ...a, details: JSON.parse(a.details) as Record<string, unknown> })));

describe("exports of contacts are audited", () => {
  beforeEach(() => startSimulation());

  it("GET /contacts/export records who exported, with which filters and how many contacts matched", async () => {
    const { teamId, userId } = await makeTeam();
    const member = await makeUser(teamId, "member");
    const s = await sessionFor(teamId, member);
    const ids = await makeContacts(teamId, 3);
    const listId = await makeList(teamId, userId, ids.slice(0, 2));

    const all = await exportCsv(s);
    expect(all.status).toBe(200);
    await all.arrayBuffer();
    const listed = await exportCsv(s, `?list_id=${listId}&owner_id=`);
    expect(listed.status).toBe(200);
    await listed.arrayBuffer();

    expect(await auditOf(teamId, "contact.export")).toEqual([
      { user_id: member, api_key_id: null, target_type: "team", target_id: teamId, details: { filters: {}, contacts: 3, max: 100_000 } },
      {
        user_id: member,
        api_key_id: null,
        target_type: "list",
        target_id: listId,
        details: { filters: { list_id: listId }, contacts: 2, max: 100_000 },
      },
    ]);
  });

  it("a refused export (another team's list) records nothing", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const other = await makeTeam("Other");
    const foreignList = await makeList(other.teamId, other.userId, await makeContacts(other.teamId, 1));
    expect((await exportCsv(s, `?list_id=${foreignList}`)).status).toBe(404);
    expect(await auditOf(teamId, "contact.export")).toEqual([]);
    expect(await auditOf(other.teamId, "contact.export")).toEqual([]);
  });

  it("a sequence's contacts export records the sequence and its rows; another team's sequence records nothing", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    const ids = await makeContacts(teamId, 3);
    await enroll(teamId, sequenceId, ids, [await makeMailbox(teamId, userId)]);
    // The first contact also ran in it before (a finished run, then restarted): one contact on two rows.
    const cols = (await env.DB.prepare("SELECT name FROM pragma_table_info('enrollments')").all<{ name: string }>()).results.map(
      (c) => c.name,
    );
    const copied = cols.map((c) => (c === "id" ? "'earlier-run'" : c === "status" ? "'finished'" : c)).join(", ");
    await env.DB.prepare(
      `INSERT INTO enrollments (${cols.join(", ")}) SELECT ${copied} FROM enrollments WHERE sequence_id = ? AND contact_id = ?`,
    )
      .bind(sequenceId, ids[0])
      .run();

    const res = await client(s).api.sequences[":id"].contacts.export.$get({ param: { id: sequenceId } });
    expect(res.status).toBe(200);
    expect((await res.text()).trim().split("\r\n")).toHaveLength(5);
    expect(await auditOf(teamId, "sequence.contacts_export")).toEqual([
      { user_id: userId, api_key_id: null, target_type: "sequence", target_id: sequenceId, details: { contacts: 3, rows: 4 } },
    ]);

    const other = await makeTeam("Other");
    const foreign = await makeSequence(other.teamId, other.userId, [{ wait: 0 }], null);
    expect((await client(s).api.sequences[":id"].contacts.export.$get({ param: { id: foreign.sequenceId } })).status).toBe(404);
    expect(await auditOf(teamId, "sequence.contacts_export")).toHaveLength(1);
    expect(await auditOf(other.teamId, "sequence.contacts_export")).toEqual([]);
  });
});
