// A test email checks a mailbox outside every sequence's limits, so it is not a relay: it goes only to
// the mailbox's own address or an active user of its team, at most TEST_EMAILS_PER_HOUR per mailbox in
// any rolling hour, and never to an address the send path would refuse.
import { afterEach, describe, expect, it } from "vitest";
import { resetClock, setClock } from "../../worker/lib/clock";
import { TEST_EMAILS_PER_HOUR } from "../../worker/services/mailboxes";
import { HOUR, makeContacts, makeMailbox, makeTeam, makeUser, MIN, SIM_START, sessionFor } from "../fixtures";
import { as, env, errorOf, fieldsOf } from "../helpers";

async function setup() {
  const { teamId, userId } = await makeTeam();
  const mailboxId = await makeMailbox(teamId, userId);
  const s = await sessionFor(teamId, userId);
  const test = (to: string) => as(s, "POST", `/api/mailboxes/${mailboxId}/test`, { to });
  const outbox = async () =>
    (
      await env.DB.prepare("SELECT to_email, status FROM messages WHERE mailbox_id = ? ORDER BY created_at").bind(mailboxId).all<{
        to_email: string;
        status: string;
      }>()
    ).results;
  return { teamId, userId, mailboxId, s, test, outbox };
}

afterEach(() => resetClock());

describe("test emails", () => {
  it("go only to the mailbox itself or an active member of the team; any other address is refused on `to` and nothing is sent", async () => {
    const { teamId, mailboxId, test, outbox } = await setup();
    const member = await makeUser(teamId);
    const gone = await makeUser(teamId);
    await env.DB.prepare("UPDATE users SET disabled_at = 1 WHERE id = ?").bind(gone).run();
    for (const to of ["ceo@other-company.test", `${gone}@sim.test`, "admin@demo.test"]) {
      const err = await errorOf(await test(to));
      expect(err).toMatchObject({ status: 422, code: "validation_failed" });
      expect(fieldsOf(err)).toEqual([
        expect.objectContaining({ field: "to", message: expect.stringMatching(/own address or to an active member of your team/) }),
      ]);
    }
    expect(await outbox()).toEqual([]);
    expect((await test(`${member}@sim.test`)).status).toBe(200);
    expect((await test(`${mailboxId}@SENDER.test`)).status).toBe(200);
    expect(await outbox()).toEqual([
      { to_email: `${member}@sim.test`, status: "sent" },
      { to_email: `${mailboxId}@sender.test`, status: "sent" },
    ]);
  });

  it("are refused for an address the send path refuses: a contact with it in a Do Not Contact stage, unsubscribed or bounced", async () => {
    const { teamId, test, outbox } = await setup();
    const [dnc, unsub, bounced] = await makeContacts(teamId, 3);
    const cases = [
      { contact: dnc!, set: `stage_id = '${teamId}-dnc'`, reason: "do_not_contact", words: /^Contact is in a Do Not Contact stage/ },
      { contact: unsub!, set: "unsubscribed_at = 1", reason: "unsubscribed", words: /^Contact unsubscribed/ },
      { contact: bounced!, set: "bounced_at = 1", reason: "bounced", words: /^Email bounced/ },
    ];
    for (const c of cases) {
      // A colleague saved as a contact (a test may go to colleagues): no suppression row, only the contact's state.
      const colleague = await makeUser(teamId);
      const to = `${colleague}@sim.test`;
      await env.DB.prepare(`UPDATE contacts SET email = ?, ${c.set} WHERE id = ?`).bind(to.toUpperCase(), c.contact).run();
      const err = await errorOf(await test(to));
      expect(err).toMatchObject({ status: 422, code: "validation_failed" });
      expect(fieldsOf(err)).toEqual([expect.objectContaining({ field: "to", reason: c.reason, message: expect.stringMatching(c.words) })]);
    }
    expect(await outbox()).toEqual([]);
    // Once the contact is deleted its state no longer applies (a suppression row is what outlives it).
    await env.DB.prepare("UPDATE contacts SET deleted_at = 1 WHERE id = ?").bind(dnc).run();
    const former = (await env.DB.prepare("SELECT lower(email) e FROM contacts WHERE id = ?").bind(dnc).first<{ e: string }>())!.e;
    expect((await test(former)).status).toBe(200);
  });

  it(`at most ${TEST_EMAILS_PER_HOUR} an hour per mailbox, even when asked all at once: beyond, 429 with retry-after, and again once the hour has passed`, async () => {
    const { mailboxId, test, outbox } = await setup();
    setClock(SIM_START);
    const answers = await Promise.all(Array.from({ length: TEST_EMAILS_PER_HOUR + 3 }, () => test(`${mailboxId}@sender.test`)));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(TEST_EMAILS_PER_HOUR);
    const refused = answers.filter((r) => r.status !== 200);
    expect(refused).toHaveLength(3);
    for (const r of refused) {
      expect(r.status).toBe(429);
      expect(r.headers.get("retry-after")).toBe(String(HOUR / 1000));
      expect((await errorOf(r)).code).toBe("rate_limited");
    }
    expect(await outbox()).toHaveLength(TEST_EMAILS_PER_HOUR);
    setClock(SIM_START + 30 * MIN);
    const later = await test(`${mailboxId}@sender.test`);
    expect(later.status).toBe(429);
    expect(later.headers.get("retry-after")).toBe(String((30 * MIN) / 1000));
    setClock(SIM_START + HOUR + 1);
    expect((await test(`${mailboxId}@sender.test`)).status).toBe(200);
    expect(await outbox()).toHaveLength(TEST_EMAILS_PER_HOUR + 1);
  });
});
