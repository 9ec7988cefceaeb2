import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { handleInbound } from "../../worker/inbound";
import { signUnsubscribeToken } from "../../worker/services/mime";
import { call, client, env, ok } from "../helpers";
import { HOUR, enroll, makeSequence, runUntil, startSimulation } from "../fixtures";
import { enrollmentRow, replyTo, sentFirst, type Sent } from "../replies/mail";

/** The token of the unsubscribe link in the email as it was sent (its List-Unsubscribe header). */
async function linkToken(messageId: string) {
  const raw = (await env.DB.prepare("SELECT raw FROM messages WHERE id = ?").bind(messageId).first<{ raw: string }>())!.raw;
  const unfolded = raw.replace(/\r\n[ \t]+/g, " ");
  return /^List-Unsubscribe:.*\/unsubscribe\/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)>/im.exec(unfolded)![1]!;
}
const click = (token: string) =>
  call(`/unsubscribe/${token}`, {
    method: "POST",
    body: "List-Unsubscribe=One-Click",
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });

describe("unsubscribes in the reports", () => {
  beforeEach(() => startSimulation());

  it("count on the email the person opted out from: after the run finished, once per click, never in another sequence", async () => {
    // A one-step sequence: every run has finished once its email went out.
    const s = await sentFirst({ waits: [0], n: 4 });
    const [a, b, c, d] = s.sent as [Sent, Sent, Sent, Sent];
    expect(await enrollmentRow(a.enrollment_id)).toMatchObject({ status: "finished" });
    // Sequence B emails contact c too, and its run is still open.
    const other = await makeSequence(s.teamId, s.userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
    await enroll(s.teamId, other.sequenceId, [c.contact_id], [s.mailboxId]);
    await runUntil(now() + HOUR);

    // a clicks their email's link (twice); b a link made before links named their email; c clicks A's email's link.
    expect((await click(await linkToken(a.id))).status).toBe(200);
    expect((await click(await linkToken(a.id))).status).toBe(200);
    const oldLink = await signUnsubscribeToken(env.APP_SECRET!, { teamId: s.teamId, email: b.to_email.toLowerCase() });
    expect((await click(oldLink)).status).toBe(200);
    expect((await click(await linkToken(c.id))).status).toBe(200);
    // d replies asking to be taken off the list.
    const asked = await handleInbound(env, replyTo(d, { body: "Please unsubscribe me." }));
    expect(asked.kind).toBe("unsubscribe");

    const api = client(s.session).api;
    const report = async (id: string) => (await ok(api.sequences[":id"].report.$get({ param: { id }, query: {} }))).report;
    const A = await report(s.sequenceId);
    expect(A.totals.unsubscribed).toBe(4);
    expect(A.steps[0]!.unsubscribed).toBe(4);
    // c's open run in B ended 'unsubscribed', but the opt-out came from A's email.
    const B = await report(other.sequenceId);
    expect(B.totals.unsubscribed).toBe(0);
    const team = (await ok(api.reports.team.$get({ query: {} }))).report;
    expect(team.sequences.find((x) => x.sequence_id === s.sequenceId)!.unsubscribed).toBe(4);
    expect(team.sequences.find((x) => x.sequence_id === other.sequenceId)!.unsubscribed).toBe(0);
    expect(team.users.find((x) => x.user_id === s.userId)!.unsubscribed).toBe(4);
    // The reply was misread: correcting it (confirmed, as it lifts an opt-out) lifts the opt-out, and the count with it.
    await ok(
      api.replies[":id"].classification.$post({ param: { id: asked.inboundId! }, json: { classification: "reply", confirm: true } }),
    );
    expect((await report(s.sequenceId)).totals.unsubscribed).toBe(3);
  });
});
