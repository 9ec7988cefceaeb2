// A test email on a mailbox whose saved settings can't be used (an SMTP password that no longer unseals,
// after APP_SECRET changed) sends nothing and says why. Before, building the transport threw inside the
// send's try: the answer was a 500, and the Outbox kept a row "unknown (may have been sent)" for an email
// that never left.
import { describe, expect, it } from "vitest";
import { makeMailbox, makeTeam, sessionFor } from "../fixtures";
import { as, env } from "../helpers";

describe("test email on a mailbox that can't be used", () => {
  it("answers ok: false with the reason, and the Outbox shows nothing", async () => {
    const { teamId, userId } = await makeTeam();
    const mailboxId = await makeMailbox(teamId, userId);
    await env.DB.prepare("UPDATE mailboxes SET transport = 'smtp', transport_config = ?, secret_ciphertext = ? WHERE id = ?")
      .bind(
        JSON.stringify({ host: "smtp.sender.test", port: 587, security: "starttls", username: "u" }),
        "sealed-with-an-old-secret",
        mailboxId,
      )
      .run();
    const s = await sessionFor(teamId, userId);
    const res = await as(s, "POST", `/api/mailboxes/${mailboxId}/test`, { to: `${mailboxId}@sender.test` });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      ok: false,
      kind: "sender",
      message: expect.stringMatching(
        /^Nothing was sent: Seqflare can't use this mailbox's saved settings .*Enter its password again, or reconnect it\.$/,
      ),
    });
    expect((await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE mailbox_id = ?").bind(mailboxId).first())!.n).toBe(0);
  });
});
