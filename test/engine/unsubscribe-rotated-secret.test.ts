// Unsubscribe links outlive a rotation of APP_SECRET: a link in an email sent before it was signed with
// the old secret, which APP_SECRET_PREVIOUS keeps verifying. Without it every link already sent answered
// 404 "was not issued by us", and the person could not opt out.
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { signUnsubscribeToken } from "../../worker/services/mime";
import { env } from "../helpers";
import { makeContacts, makeTeam } from "../fixtures";

const OLD = env.APP_SECRET!;
const suppressed = async (teamId: string, email: string) =>
  (
    await env.DB.prepare("SELECT source FROM suppressions WHERE team_id = ? AND email = ?").bind(teamId, email).all<{ source: string }>()
  ).results.map((r) => r.source);

describe("unsubscribe links after APP_SECRET is rotated", () => {
  it("a link signed with the previous secret still unsubscribes; one signed with neither is refused", async () => {
    const { teamId } = await makeTeam();
    const [contactId] = await makeContacts(teamId, 1);
    const { email } = (await env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(contactId).first<{ email: string }>())!;
    const token = await signUnsubscribeToken(OLD, { teamId, email });
    // Raw app.request on purpose: the point is an env whose APP_SECRET has been rotated.
    const rotated = { ...env, APP_SECRET: "rotated-secret-not-for-production", APP_SECRET_PREVIOUS: OLD };
    const page = await app.request(`/unsubscribe/${token}`, {}, rotated);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`Stop all emails to ${email}`);
    const done = await app.request(`/unsubscribe/${token}`, { method: "POST" }, rotated);
    expect(done.status).toBe(200);
    expect(await suppressed(teamId, email.toLowerCase())).toEqual(["one_click"]);
    expect(
      (await env.DB.prepare("SELECT unsubscribed_at FROM contacts WHERE id = ?")
        .bind(contactId)
        .first<{ unsubscribed_at: number | null }>())!.unsubscribed_at,
    ).not.toBeNull();

    // Signed with a secret this server never had: still refused, and nothing is written.
    const [otherId] = await makeContacts(teamId, 1);
    const other = (await env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(otherId).first<{ email: string }>())!.email;
    const forged = await signUnsubscribeToken("someone-elses-secret", { teamId, email: other });
    const refused = await app.request(`/unsubscribe/${forged}`, { method: "POST" }, rotated);
    expect(refused.status).toBe(404);
    expect(await suppressed(teamId, other.toLowerCase())).toEqual([]);
    // Without APP_SECRET_PREVIOUS the old link is no longer ours.
    const noPrevious = await app.request(`/unsubscribe/${token}`, {}, { ...rotated, APP_SECRET_PREVIOUS: undefined });
    expect(noPrevious.status).toBe(404);
  });
});
