import { describe, expect, it } from "vitest";
import { makeMailbox, makeMessages, makeSequence, makeTeam, makeUser, sessionFor, makeContacts } from "../fixtures";
import { as, client, env, errorOf, fieldsOf, ok } from "../helpers";

describe("the sequence report's filters", () => {
  it("a mailbox or user of another team answers 404, as the Outbox does, not a report of zeros", async () => {
    const { teamId, userId } = await makeTeam("Report filters");
    const rival = await makeTeam("Rival");
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{}], null);
    const mb = await makeMailbox(teamId, userId);
    await makeMessages(teamId, sequenceId, stepIds[0]!, mb, await makeContacts(teamId, 3));
    const foreignMailbox = await makeMailbox(rival.teamId, rival.userId);
    const s = await sessionFor(teamId, userId);
    const api = client(s).api.sequences[":id"].report;
    const param = { id: sequenceId };

    // Our own mailbox and user: the emails are there.
    expect((await ok(api.$get({ param, query: { mailbox_id: mb } }))).report.totals.sent).toBe(3);
    expect((await ok(api.$get({ param, query: { added_by: userId } }))).report.filters.added_by).toBe(userId);

    for (const query of [{ mailbox_id: foreignMailbox }, { added_by: rival.userId }, { mailbox_id: "nope" }]) {
      const res = await api.$get({ param, query });
      expect(res.status).toBe(404);
      expect((await errorOf(res)).code).toBe("not_found");
      // The export of a part of the report answers the same.
      const csv = await client(s).api.sequences[":id"].report.export.$get({ param, query: { ...query, part: "steps" } });
      expect(csv.status).toBe(404);
    }
    // The Outbox's filter on the same mailbox answers 404 too (the rule the report now follows).
    expect((await as(s, "GET", `/api/messages?mailbox_id=${foreignMailbox}`)).status).toBe(404);
    // A disabled user of the team is still a filter on what they added.
    const gone = await makeUser(teamId);
    await env.DB.prepare("UPDATE users SET disabled_at = 1 WHERE id = ?").bind(gone).run();
    expect((await ok(api.$get({ param, query: { added_by: gone } }))).report.totals.sent).toBe(0);
  });
});

describe("the team report's range", () => {
  it("a first day after today, with no last day, is blamed on From in words about From", async () => {
    const { teamId, userId } = await makeTeam("Team range");
    const s = await sessionFor(teamId, userId);
    const res = await client(s).api.reports.team.$get({ query: { from: "2099-01-01" } });
    expect(res.status).toBe(422);
    const err = await errorOf(res);
    expect(err.message).toBe("From can't be after today");
    expect(fieldsOf(err)).toEqual([expect.objectContaining({ field: "from", message: "Choose today or an earlier day" })]);
  });
});
