// A manual email's task to a contact who may not be emailed (on the suppression list, by address or domain,
// unsubscribed, bounced) has no draft and no mail-app link, and says why. Before, its row offered "Open in
// your email app" with a mailto: to the suppressed address: the API's send refuses it (409), the link did not.
import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { client, env, ok } from "../helpers";
import { HOUR, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";

beforeEach(() => startSimulation());

describe("a manual email's task to a contact who may not be emailed", () => {
  it("is listed with a warning saying why, no draft, and the contact's do_not_email; the others keep their draft", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ type: "manual_email", wait: 0 }, { wait: 1 }], null);
    const contacts = await makeContacts(teamId, 3);
    await enroll(teamId, sequenceId, contacts, [await makeMailbox(teamId, userId, { gapSeconds: 0 })]);
    await runUntil(now() + HOUR);
    const [suppressed, bounced, fine] = contacts as [string, string, string];
    const email = (c: string) => env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(c).first<{ email: string }>();
    // Suppressed after the task was made (an entry added to the list), and a contact marked bounced.
    await env.DB.prepare("INSERT INTO suppressions (id, team_id, email, reason, source, created_at) VALUES (?, ?, ?, 'manual', 'test', ?)")
      .bind(newId(), teamId, (await email(suppressed))!.email.toLowerCase(), now())
      .run();
    await env.DB.prepare("UPDATE contacts SET bounced_at = ? WHERE id = ?").bind(now(), bounced).run();

    const { tasks } = await ok(api.tasks.$get({ query: { view: "open" } }));
    const of = (c: string) => tasks.find((t) => t.contact?.id === c)!;
    expect(of(suppressed)).toMatchObject({
      draft: null,
      warning: "This address is on your team's suppression list: don't email them; skip this task",
      contact: { do_not_email: "This address is on your team's suppression list" },
    });
    expect(of(bounced)).toMatchObject({
      draft: null,
      warning: "This address bounced: don't email them; skip this task",
      contact: { do_not_email: "This address bounced" },
    });
    expect(of(fine)).toMatchObject({ warning: null, contact: { do_not_email: null } });
    expect(of(fine).draft).not.toBeNull();
  });
});
