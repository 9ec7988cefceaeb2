// A preview's unsubscribe link opts nobody out. The step, scheduled-email and next-email previews showed the
// contact's own signed link: anyone who may view the sequence (a view share is enough) could follow it and
// unsubscribe the contact, and a rep trying "does the link work?" in a preview did. The link in the email as
// sent is still the contact's own, and still works.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { setTransportOverride } from "../../worker/transports";
import { DAY, HOUR, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";
import { as, call, env } from "../helpers";

const linkOf = (text: string) => /\/unsubscribe\/([^\s>]+)/.exec(text)?.[1] ?? null;
const suppressions = async (teamId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM suppressions WHERE team_id = ?").bind(teamId).first<{ n: number }>())!.n;

describe("the unsubscribe link in a preview", () => {
  const mailboxes: string[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => mailboxes.splice(0).forEach((m) => setTransportOverride(m, null)));

  it("is the preview's, which unsubscribes nobody; the sent email carries the contact's own, which works", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId, stepIds } = await makeSequence(
      teamId,
      userId,
      [
        { variants: [{ subject: "Hello {{first_name}}", body: "First email" }] },
        { wait: 2, variants: [{ subject: "Again {{first_name}}", body: "Second email" }] },
      ],
      null,
    );
    const mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    mailboxes.push(mailboxId);
    const sent: string[] = [];
    setTransportOverride(mailboxId, { local: true, send: async (e) => (sent.push(e.raw), { ok: true, response: "counted" }) });
    const [contactId] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
    await runUntil(now() + HOUR);
    expect(sent).toHaveLength(1);
    const run = (await env.DB.prepare("SELECT id FROM enrollments WHERE contact_id = ?").bind(contactId).first<{ id: string }>())!;

    // The previews of step 2 (the step's, the scheduled email's, the run's next email), before it goes.
    const stepPreview = (await (
      await as(s, "POST", `/api/sequences/${sequenceId}/steps/${stepIds[1]}/preview`, { contact_id: contactId })
    ).json()) as {
      body: string;
    };
    const scheduled = (await (await as(s, "GET", `/api/scheduled-emails/${run.id}/${stepIds[1]}`)).json()) as { body: string };
    expect(linkOf(stepPreview.body)).toBe("preview");
    expect(linkOf(scheduled.body)).toBe("preview");
    const next = (await (await as(s, "GET", `/api/sequences/${sequenceId}/enrollments/${run.id}/next-email`)).json()) as { body: string };
    expect(linkOf(next.body)).toBe("preview");

    // Followed (the page, then its button): a page that says so, and no opt-out.
    const page = await call("/unsubscribe/preview");
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/nobody was unsubscribed/);
    const click = await call("/unsubscribe/preview", { method: "POST" });
    expect(click.status).toBe(200);
    expect(await suppressions(teamId)).toBe(0);

    // Step 2 as sent: the contact's own signed link, which does opt them out.
    await runUntil(now() + 3 * DAY);
    expect(sent).toHaveLength(2);
    const token = linkOf(sent[1]!.replace(/=\r?\n/g, ""));
    expect(token).not.toBeNull();
    expect(token).not.toBe("preview");
    const out = await call(`/unsubscribe/${token}`, { method: "POST" });
    expect(out.status).toBe(200);
    expect(await suppressions(teamId)).toBe(1);
  });
});
