import { describe, expect, it } from "vitest";
import { client, env, ok } from "../helpers";
import { makeTeam, sessionFor } from "../fixtures";

describe("test emails in the reports", () => {
  it("a mailbox's test email counts in no report (rollup, team report per user)", async () => {
    const { teamId, userId } = await makeTeam("Test emails");
    const api = client(await sessionFor(teamId, userId)).api;
    const email = `t-${crypto.randomUUID().slice(0, 8)}@sender.test`;
    const mb = (await ok(api.mailboxes.$post({ json: { email, sender_name: "Admin", signature: "" } }), 201)).mailbox;
    for (let i = 0; i < 3; i++)
      expect(await ok(api.mailboxes[":id"].test.$post({ param: { id: mb.id }, json: { to: email } }))).toMatchObject({ ok: true });
    // The emails went out (the Outbox shows them) ...
    expect(
      (await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE team_id = ? AND status = 'sent'")
        .bind(teamId)
        .first<{ n: number }>())!.n,
    ).toBe(3);
    // ... and no report counts them.
    expect((await env.DB.prepare("SELECT count(*) AS n FROM report_rollup WHERE team_id = ?").bind(teamId).first<{ n: number }>())!.n).toBe(
      0,
    );
    const { report } = await ok(api.reports.team.$get({ query: {} }));
    expect(report.users.find((u) => u.user_id === userId)).toMatchObject({ sent: 0, bounced: 0, replies: 0 });
  });
});
