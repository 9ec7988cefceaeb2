// postal-mime gives no text for an HTML-only email: classification read "" while only the stored body
// was the HTML as text, so "Please remove me" in HTML was a plain reply (no suppression) and an HTML
// out-of-office an auto-reply (no pause). Both now read the same text that is kept.
import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { classifyInbound } from "../../worker/services/reply-classify";
import { startSimulation } from "../fixtures";
import { env } from "../helpers";
import { enrollmentRow, replyTo, sentFirst, type Sent } from "./mail";

const t = Date.UTC(2027, 2, 1);
const m: Sent = {
  id: "m1",
  enrollment_id: "e1",
  contact_id: "c1",
  to_email: "ana@acme.test",
  subject: "Quick question",
  message_id_header: `<sf.${"a".repeat(24)}.${"b".repeat(24)}@sender.test>`,
};
const html = (s: Sent, body: string, subject?: string) =>
  replyTo(s, { body, subject }).replace("Content-Type: text/plain", "Content-Type: text/html; charset=utf-8");

const removeMe = '<html><body><div dir="ltr">Please remove me from your list.</div></body></html>';
const ooo =
  "<html><body><p>Thank you for your email.</p><p>I am out of the office until June 20 with limited access to email.</p></body></html>";

describe("an HTML-only inbound email", () => {
  beforeEach(() => startSimulation());

  it("'Please remove me' is an unsubscribe request, with the phrase as evidence", async () => {
    expect(await classifyInbound(html(m, removeMe), t)).toMatchObject({
      kind: "unsubscribe",
      evidence: { rule: "asks_to_be_removed", phrase: "remove me" },
      snippet: "Please remove me from your list.",
    });
  });

  it("an 'Automatic reply:' out of the office until June 20 is an out-of-office until that date", async () => {
    const c = await classifyInbound(html(m, ooo, `Automatic reply: ${m.subject}`), t);
    expect(c).toMatchObject({ kind: "out_of_office", evidence: { rule: "auto_reply_with_return_date", phrase: "out of the office" } });
    expect(c.returnAt).toBe(Date.UTC(2027, 5, 20, 9));
  });

  it("the original quoted in a <blockquote> is not read as the reply's words (its 'unsubscribe' footer)", async () => {
    const quoted =
      '<div dir="ltr">Sounds good, Tuesday works.</div><br><div class="gmail_quote"><blockquote class="gmail_quote">' +
      "Hi Ana, a quick question...<br>If you'd rather not hear from us, reply to unsubscribe.</blockquote></div>";
    expect(await classifyInbound(html(m, quoted), t)).toMatchObject({ kind: "reply", snippet: "Sounds good, Tuesday works." });
  });

  it("handled: the HTML 'remove me' suppresses the address and ends the run; the HTML out-of-office pauses it", async () => {
    const s = await sentFirst({ n: 2 });
    const [a, b] = s.sent as [Sent, Sent];
    expect(await handleInbound(env, html(a, removeMe))).toMatchObject({ kind: "unsubscribe" });
    expect(await enrollmentRow(a.enrollment_id)).toMatchObject({ status: "finished", reason: "unsubscribed" });
    expect(
      await env.DB.prepare("SELECT reason, source FROM suppressions WHERE team_id = ? AND email = lower(?)")
        .bind(s.teamId, a.to_email)
        .first(),
    ).toEqual({ reason: "unsubscribed", source: "reply" });
    expect(await handleInbound(env, html(b, ooo, `Automatic reply: ${b.subject}`))).toMatchObject({ kind: "out_of_office" });
    expect(await enrollmentRow(b.enrollment_id)).toMatchObject({ status: "paused", reason: "out_of_office" });
  });
});
