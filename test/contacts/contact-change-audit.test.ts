import { describe, expect, it } from "vitest";
import { client, countD1Statements, env, ok } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam, makeUser, sessionFor } from "../fixtures";

// A contact's stage, owner and field changes are on its timeline with who made them: a move to Do Not Contact
// ends the contact's runs in every sequence, and the timeline said only "Finished … · Do Not Contact", by nobody.

const timeline = async (s: Awaited<ReturnType<typeof sessionFor>>, id: string) =>
  (await ok(client(s).api.contacts[":id"].timeline.$get({ param: { id }, query: {} }))).events;

describe("contact changes on the timeline", () => {
  it("a move to Do Not Contact names who made it, next to the run it finished", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 1 }], null);
    const mb = await makeMailbox(teamId, userId, {});
    const [id] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [id!], [mb]);

    await ok(client(s).api.contacts[":id"].$patch({ param: { id: id! }, json: { stage_id: `${teamId}-dnc` } }));
    const events = await timeline(s, id!);
    const moved = events.find((e) => e.title === "Stage changed to Do Not Contact");
    expect(moved).toMatchObject({ kind: "status", by: { id: userId, name: "Sim Owner" } });
    expect(moved!.data).toMatchObject({ stage_id: `${teamId}-dnc`, from_stage_id: `${teamId}-cold` });
    expect(events.find((e) => e.title.startsWith("Finished in"))).toMatchObject({ data: { reason: "do_not_contact" }, by: null });
  });

  it("an owner change and an edit name who made them; an edit lists the fields changed, not their values", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const rep = await makeUser(teamId, "member");
    const [id] = await makeContacts(teamId, 1);
    await ok(
      client(s).api.contacts[":id"].$patch({
        param: { id: id! },
        json: { owner_id: rep, email: "new.address@example.test", title: "CTO", last_name: "Last0", custom_fields: { pin: "1234" } },
      }),
    );
    const events = await timeline(s, id!);
    expect(events.find((e) => e.title === "Owner changed to Member")).toMatchObject({ by: { id: userId } });
    const edit = events.find((e) => e.title === "Details edited")!;
    // last_name was already Last0: not a change.
    expect(edit).toMatchObject({ by: { id: userId }, detail: "email, title, custom.pin" });
    expect(JSON.stringify(edit)).not.toMatch(/new\.address|CTO|1234/);
    // Saving the same values again is no change: no more entries.
    await ok(
      client(s).api.contacts[":id"].$patch({ param: { id: id! }, json: { owner_id: rep, title: "CTO", custom_fields: { pin: "1234" } } }),
    );
    expect((await timeline(s, id!)).length).toBe(events.length);
  });

  it("a bulk stage or owner change is audited for each contact changed, in a few statements", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const rep = await makeUser(teamId, "member");
    const ids = await makeContacts(teamId, 1_500);
    const inserts = countD1Statements(/INSERT INTO audit_log/i);
    try {
      await ok(client(s).api.contacts.bulk.$post({ json: { action: "change_stage", contact_ids: ids, stage_id: `${teamId}-dnc` } }));
      await ok(client(s).api.contacts.bulk.$post({ json: { action: "change_owner", contact_ids: ids, owner_id: rep } }));
    } finally {
      inserts.restore();
    }
    expect(inserts.n).toBeLessThanOrEqual(8);
    const rows = await env.DB.prepare(
      "SELECT action, count(*) n, count(DISTINCT target_id) contacts, min(user_id) u, max(user_id) v FROM audit_log WHERE team_id = ? AND target_type = 'contact' GROUP BY action ORDER BY action",
    )
      .bind(teamId)
      .all();
    expect(rows.results).toEqual([
      { action: "contact.owner", n: 1_500, contacts: 1_500, u: userId, v: userId },
      { action: "contact.stage", n: 1_500, contacts: 1_500, u: userId, v: userId },
    ]);
    const one = await timeline(s, ids[1_234]!);
    expect(one.map((e) => [e.title, e.by?.id])).toEqual(
      expect.arrayContaining([
        ["Stage changed to Do Not Contact", userId],
        ["Owner changed to Member", userId],
      ]),
    );
  });
});
