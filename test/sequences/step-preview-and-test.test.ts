// A step's email previewed as a chosen contact of the team (in the sequence or not) through the send path's own
// composer, and sent as a test to the caller through the mailbox's test-email path: never to the contact,
// counted nowhere but as a test email, once per Idempotency-Key.
import { afterEach, describe, expect, it } from "vitest";
import { setTransportOverride } from "../../worker/transports";
import type { OutgoingEmail } from "../../worker/transports/types";
import { resetClock } from "../../worker/lib/clock";
import {
  DAY,
  enroll,
  everyDay,
  makeContacts,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  makeUser,
  runUntil,
  sentMessages,
  SIM_START,
  sessionFor,
  startSimulation,
} from "../fixtures";
import { as, call, env, errorOf, fieldsOf, withKey } from "../helpers";

interface Preview {
  contact: { id: string; name: string; email: string; in_sequence: boolean };
  variant: { id: string; label: string } | null;
  mailbox: { id: string; email: string };
  from: { email: string; name: string };
  to: string;
  subject: string;
  body: string;
  missing: string[];
  refused: { reason: string; text: string; test_allowed: boolean } | null;
}

const overridden: string[] = [];
afterEach(() => {
  for (const id of overridden.splice(0)) setTransportOverride(id, null);
  resetClock();
});

async function setup() {
  const { teamId, userId } = await makeTeam("Step preview");
  const mailboxId = await makeMailbox(teamId, userId);
  const scheduleId = await makeSchedule(teamId);
  const { sequenceId, stepIds } = await makeSequence(
    teamId,
    userId,
    [
      {
        variants: [
          { subject: "Quick question for {{first_name}}", body: "Hi {{first_name}}, how is {{company}} doing?" },
          { subject: "An idea for {{company}}", body: "Hello {{first_name}}, variant B here." },
        ],
      },
      { wait: 2, threadReply: true, variants: [{ subject: "", body: "Following up, {{first_name}}: still {{title}}?" }] },
      { type: "call", wait: 1 },
    ],
    scheduleId,
    false,
  );
  const [contactId, otherContact] = await makeContacts(teamId, 2);
  const variants = (
    await env.DB.prepare("SELECT id, label FROM step_variants WHERE step_id = ? ORDER BY label")
      .bind(stepIds[0])
      .all<{ id: string; label: string }>()
  ).results;
  const s = await sessionFor(teamId, userId);
  const sent: OutgoingEmail[] = [];
  setTransportOverride(mailboxId, { send: async (m) => (sent.push(m), { ok: true, response: "250 accepted" }) });
  overridden.push(mailboxId);
  const contact = (await env.DB.prepare("SELECT email, updated_at FROM contacts WHERE id = ?")
    .bind(contactId)
    .first<{ email: string; updated_at: number }>())!;
  return { teamId, userId, mailboxId, sequenceId, stepIds, contactId: contactId!, otherContact: otherContact!, variants, s, sent, contact };
}

const previewPath = (seq: string, step: string) => `/api/sequences/${seq}/steps/${step}/preview`;
const testPath = (seq: string, step: string) => `/api/sequences/${seq}/steps/${step}/test`;

describe("a step's email previewed as a contact", () => {
  it("is the email as the contact would get it: their fields, the mailbox's From and signature, the footer; a chosen variant's text", async () => {
    const w = await setup();
    const res = await as(w.s, "POST", previewPath(w.sequenceId, w.stepIds[0]!), {
      contact_id: w.contactId,
      variant_id: w.variants[0]!.id,
      mailbox_id: w.mailboxId,
    });
    expect(res.status).toBe(200);
    const p = (await res.json()) as Preview;
    expect(p.to).toBe(w.contact.email);
    expect(p.from).toEqual({ email: `${w.mailboxId}@sender.test`, name: "Sim Sender" });
    expect(p.subject).toBe("Quick question for First0");
    expect(p.body).toMatch(/^Hi First0, how is Acme doing\?\n\n-- \nSim\n\n1 Test St, Testville\nUnsubscribe: http/);
    expect(p.variant).toEqual({ id: w.variants[0]!.id, label: "A" });
    expect(p.contact).toMatchObject({ id: w.contactId, name: "First0 Last0", in_sequence: false });
    expect(p.refused).toBeNull();

    const b = (await (
      await as(w.s, "POST", previewPath(w.sequenceId, w.stepIds[0]!), { contact_id: w.otherContact, variant_id: w.variants[1]!.id })
    ).json()) as Preview;
    expect(b.subject).toBe("An idea for Acme");
    expect(b.body).toMatch(/^Hello First1, variant B here\./);
    expect(b.variant?.label).toBe("B");
    // No mailbox asked for and the contact has no run: one the caller may send from.
    expect(b.mailbox.id).toBe(w.mailboxId);
  });

  it("a same-thread reply goes under “Re: ” and the opener this contact gets; a variable without a value is the refusal, naming it", async () => {
    const w = await setup();
    const opener = (await (await as(w.s, "POST", previewPath(w.sequenceId, w.stepIds[0]!), { contact_id: w.contactId })).json()) as Preview;
    const res = await as(w.s, "POST", previewPath(w.sequenceId, w.stepIds[1]!), { contact_id: w.contactId });
    expect(res.status).toBe(200);
    const p = (await res.json()) as Preview;
    expect(p.subject).toBe(`Re: ${opener.subject}`);
    expect(p.body).toMatch(/^Following up, First0: still \?/);
    expect(p.missing).toEqual(["title"]);
    expect(p.refused).toEqual({
      reason: "missing_variables: title",
      text: expect.stringMatching(
        /^Not sent: the contact will be paused on this step \(the email uses \{\{title\}\}, which this contact has no value for/,
      ),
      // The test of a refused email is refused too (422).
      test_allowed: false,
    });
    // Given a value, it would go.
    await env.DB.prepare("UPDATE contacts SET title = 'CTO' WHERE id = ?").bind(w.contactId).run();
    const filled = (await (await as(w.s, "POST", previewPath(w.sequenceId, w.stepIds[1]!), { contact_id: w.contactId })).json()) as Preview;
    expect(filled.refused).toBeNull();
    expect(filled.body).toMatch(/^Following up, First0: still CTO\?/);
  });

  it("a foreign contact, sequence or variant is 404; a member without a share 404, with a view share 200; a call step 422", async () => {
    const w = await setup();
    const rival = await makeTeam("Rival");
    const [foreignContact] = await makeContacts(rival.teamId, 1);
    const rivalSeq = await makeSequence(rival.teamId, rival.userId, [{}], null, false);
    const step = previewPath(w.sequenceId, w.stepIds[0]!);
    expect((await errorOf(await as(w.s, "POST", step, { contact_id: foreignContact }))).status).toBe(404);
    expect(
      (await errorOf(await as(w.s, "POST", previewPath(rivalSeq.sequenceId, rivalSeq.stepIds[0]!), { contact_id: w.contactId }))).status,
    ).toBe(404);
    expect((await errorOf(await as(w.s, "POST", step, { contact_id: w.contactId, variant_id: "nope" }))).status).toBe(404);
    // Another sequence's step under this sequence's id.
    const other = await makeSequence(w.teamId, w.userId, [{}], null, false);
    expect((await errorOf(await as(w.s, "POST", previewPath(w.sequenceId, other.stepIds[0]!), { contact_id: w.contactId }))).status).toBe(
      404,
    );

    const lone = await sessionFor(w.teamId, await makeUser(w.teamId));
    expect((await errorOf(await as(lone, "POST", step, { contact_id: w.contactId }))).status).toBe(404);
    const viewer = await sessionFor(w.teamId, await makeUser(w.teamId, "member", { sequenceId: w.sequenceId, access: "view" }));
    const seen = await as(viewer, "POST", step, { contact_id: w.contactId });
    expect(seen.status).toBe(200);
    expect(((await seen.json()) as Preview).body).toMatch(/First0/);

    const call = await errorOf(await as(w.s, "POST", previewPath(w.sequenceId, w.stepIds[2]!), { contact_id: w.contactId }));
    expect(call).toMatchObject({ status: 422, code: "validation_failed" });
    expect(call.message).toMatch(/Only an automatic email step has an email to preview/);
  });
});

describe("a step's email previewed as a contact in the sequence", () => {
  it("is the email their run sent: its variant, its mailbox, and the next step under “Re: ” and that email's subject", async () => {
    startSimulation();
    const { teamId, userId } = await makeTeam("Step preview, sent");
    const mailboxId = await makeMailbox(teamId, userId);
    const scheduleId = await makeSchedule(teamId, { windows: everyDay("00:00", "23:59") });
    const { sequenceId, stepIds } = await makeSequence(
      teamId,
      userId,
      [
        {
          variants: [
            { subject: "Alpha for {{first_name}}", body: "A body {{first_name}}" },
            { subject: "Beta for {{first_name}}", body: "B body {{first_name}}" },
          ],
        },
        { wait: 2, threadReply: true, variants: [{ subject: "", body: "Again, {{first_name}}" }] },
      ],
      scheduleId,
    );
    const contacts = await makeContacts(teamId, 12);
    await enroll(teamId, sequenceId, contacts, [mailboxId]);
    await runUntil(SIM_START + DAY);
    const sent = await sentMessages(sequenceId);
    expect(sent).toHaveLength(12);
    const s = await sessionFor(teamId, userId);
    for (const m of sent) {
      const first = (await (await as(s, "POST", previewPath(sequenceId, stepIds[0]!), { contact_id: m.contact_id })).json()) as Preview;
      expect({
        subject: first.subject,
        variant: first.variant?.id,
        mailbox: first.mailbox.id,
        in_sequence: first.contact.in_sequence,
      }).toEqual({
        subject: m.subject,
        variant: m.variant_id,
        mailbox: mailboxId,
        in_sequence: true,
      });
      const next = (await (await as(s, "POST", previewPath(sequenceId, stepIds[1]!), { contact_id: m.contact_id })).json()) as Preview;
      expect(next.subject).toBe(`Re: ${m.subject}`);
      expect(next.body).toMatch(/^Again, First\d+\n/);
    }
  });
});

describe("a step's test email", () => {
  it("reaches the transport once, to the caller, as the contact would read it; nothing of the contact's or the sequence's changes", async () => {
    const w = await setup();
    const res = await as(w.s, "POST", testPath(w.sequenceId, w.stepIds[0]!), {
      contact_id: w.contactId,
      variant_id: w.variants[0]!.id,
      mailbox_id: w.mailboxId,
    });
    expect(res.status).toBe(200);
    const me = `${w.userId}@sim.test`;
    expect(await res.json()).toMatchObject({
      ok: true,
      to: me,
      subject: "Quick question for First0",
      from: { email: `${w.mailboxId}@sender.test` },
    });
    expect(w.sent).toHaveLength(1);
    const m = w.sent[0]!;
    expect(m.to).toBe(me);
    expect(m.raw).toMatch(/\r\nSubject: Quick question for First0\r\n/);
    expect(m.raw).toMatch(/Hi First0, how is Acme doing\?/);
    expect(m.raw).toMatch(/\r\nTo: [^\r]*\r\n/);
    expect(m.raw.toLowerCase()).not.toContain(w.contact.email.toLowerCase());
    // Recorded as a test email only: the contact's emails, runs, timeline, the sequence's counts and report are untouched.
    const rows = (
      await env.DB.prepare("SELECT to_email, sequence_id, contact_id, enrollment_id, status FROM messages WHERE team_id = ?")
        .bind(w.teamId)
        .all()
    ).results;
    expect(rows).toEqual([
      { to_email: me, sequence_id: "", contact_id: "", enrollment_id: expect.stringMatching(/^test:/), status: "sent" },
    ]);
    const n = async (q: string, ...b: unknown[]) =>
      (await env.DB.prepare(q)
        .bind(...b)
        .first<{ n: number }>())!.n;
    expect(await n("SELECT count(*) n FROM enrollments WHERE contact_id = ?", w.contactId)).toBe(0);
    expect(await n("SELECT count(*) n FROM report_rollup WHERE sequence_id = ?", w.sequenceId)).toBe(0);
    expect(await n("SELECT coalesce(sum(sent), 0) n FROM sequence_counts WHERE sequence_id = ?", w.sequenceId)).toBe(0);
    expect(await n("SELECT updated_at n FROM contacts WHERE id = ?", w.contactId)).toBe(w.contact.updated_at);
    const timeline = (await (await as(w.s, "GET", `/api/contacts/${w.contactId}/timeline`)).json()) as { events: unknown[] };
    expect(timeline.events).toEqual([]);
  });

  it("a replayed Idempotency-Key sends once", async () => {
    const w = await setup();
    const body = { contact_id: w.contactId, mailbox_id: w.mailboxId };
    const headers = { "idempotency-key": `step-test-${w.contactId}` };
    const first = await as(w.s, "POST", testPath(w.sequenceId, w.stepIds[0]!), body, headers);
    const again = await as(w.s, "POST", testPath(w.sequenceId, w.stepIds[0]!), body, headers);
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toEqual(await first.json());
    expect(w.sent).toHaveLength(1);
    expect((await env.DB.prepare("SELECT count(*) n FROM messages WHERE team_id = ?").bind(w.teamId).first<{ n: number }>())!.n).toBe(1);
  });

  it("a refused email is a 422 naming the variable, and nothing is sent", async () => {
    const w = await setup();
    const err = await errorOf(
      await as(w.s, "POST", testPath(w.sequenceId, w.stepIds[1]!), { contact_id: w.contactId, mailbox_id: w.mailboxId }),
    );
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(err.message).toMatch(/^Nothing was sent: the email uses \{\{title\}\}/);
    expect(fieldsOf(err)).toEqual([expect.objectContaining({ field: "contact_id", code: "missing_variables" })]);
    expect(w.sent).toHaveLength(0);
    expect((await env.DB.prepare("SELECT count(*) n FROM messages WHERE team_id = ?").bind(w.teamId).first<{ n: number }>())!.n).toBe(0);
  });

  it("needs the right to test the mailbox: a member editing the sequence can't send from the admin's mailbox, and can from their own, to themself", async () => {
    const w = await setup();
    const memberId = await makeUser(w.teamId, "member", { sequenceId: w.sequenceId, access: "edit" });
    const member = await sessionFor(w.teamId, memberId);
    const err = await errorOf(
      await as(member, "POST", testPath(w.sequenceId, w.stepIds[0]!), { contact_id: w.contactId, mailbox_id: w.mailboxId }),
    );
    expect(err.status).toBe(403);
    expect(w.sent).toHaveLength(0);
    const own = await makeMailbox(w.teamId, memberId);
    const mine: OutgoingEmail[] = [];
    setTransportOverride(own, { send: async (m) => (mine.push(m), { ok: true }) });
    overridden.push(own);
    const res = await as(member, "POST", testPath(w.sequenceId, w.stepIds[0]!), { contact_id: w.contactId, mailbox_id: own });
    expect(res.status).toBe(200);
    expect(mine.map((m) => m.to)).toEqual([`${memberId}@sim.test`]);
    expect(w.sent).toHaveLength(0);
  });
});

describe("a step's test email with an API key", () => {
  it("a standard key is told a standard key can't send tests (its owner's mailbox): not that only the owner may; a master key sends", async () => {
    const w = await setup();
    const key = async (kind: "standard" | "master") =>
      ((await (await as(w.s, "POST", "/api/api-keys", { name: `Script ${kind}`, kind })).json()) as { key: string }).key;
    const standard = await errorOf(
      await withKey(await key("standard"), "POST", testPath(w.sequenceId, w.stepIds[0]!), {
        contact_id: w.contactId,
        mailbox_id: w.mailboxId,
      }),
    );
    expect(standard).toMatchObject({ status: 403, message: "A standard API key can't do this; use a master key or sign in" });
    expect(w.sent).toHaveLength(0);
    const master = await withKey(await key("master"), "POST", testPath(w.sequenceId, w.stepIds[0]!), {
      contact_id: w.contactId,
      mailbox_id: w.mailboxId,
    });
    expect(master.status).toBe(200);
    expect(w.sent).toHaveLength(1);
  });

  it("an admin's standard key on a teammate's mailbox is told the same (an admin signed in may), a member's is told whose it is", async () => {
    const w = await setup();
    const memberId = await makeUser(w.teamId, "member");
    const theirs = await makeMailbox(w.teamId, memberId);
    const adminKey = (
      (await (await as(w.s, "POST", "/api/api-keys", { name: "Admin standard", kind: "standard" })).json()) as { key: string }
    ).key;
    // A member's standard key: one an admin made before being made a member (only admins make keys).
    const demotedId = await makeUser(w.teamId, "admin");
    const demoted = await sessionFor(w.teamId, demotedId);
    const memberKey = (
      (await (await as(demoted, "POST", "/api/api-keys", { name: "Their standard", kind: "standard" })).json()) as { key: string }
    ).key;
    await env.DB.prepare("UPDATE users SET role = 'member' WHERE id = ?").bind(demotedId).run();
    expect(await errorOf(await withKey(adminKey, "PATCH", `/api/mailboxes/${theirs}`, { sender_name: "Riley C" }))).toMatchObject({
      status: 403,
      message: "A standard API key can't do this; use a master key or sign in",
    });
    expect(await errorOf(await withKey(memberKey, "PATCH", `/api/mailboxes/${w.mailboxId}`, { sender_name: "Not mine" }))).toMatchObject({
      status: 403,
      message: expect.stringMatching(/owner or an admin/),
    });
  });
});

describe("a step's email for a contact the engine emails nothing", () => {
  it("says so (unsubscribed, bounced, suppressed: their run ends there) and a test to yourself still goes", async () => {
    const w = await setup();
    const preview = async () =>
      (await (
        await as(w.s, "POST", previewPath(w.sequenceId, w.stepIds[0]!), { contact_id: w.contactId, variant_id: w.variants[0]!.id })
      ).json()) as Preview;
    expect((await preview()).refused).toBeNull();

    await env.DB.prepare("UPDATE contacts SET unsubscribed_at = ? WHERE id = ?").bind(Date.now(), w.contactId).run();
    const unsubscribed = await preview();
    expect(unsubscribed.refused).toEqual({
      reason: "unsubscribed",
      text: expect.stringMatching(/^Not sent: Contact unsubscribed, so no sequence emails this contact: their run ends/),
      test_allowed: true,
    });
    // The email itself is still shown, as it would read.
    expect(unsubscribed.subject).toBe("Quick question for First0");

    await env.DB.prepare("UPDATE contacts SET unsubscribed_at = NULL, bounced_at = ? WHERE id = ?").bind(Date.now(), w.contactId).run();
    expect((await preview()).refused).toMatchObject({ reason: "bounced", text: expect.stringMatching(/Email bounced/) });

    await env.DB.prepare("UPDATE contacts SET bounced_at = NULL WHERE id = ?").bind(w.contactId).run();
    await env.DB.prepare(
      "INSERT INTO suppressions (id, team_id, email, reason, source, created_at) VALUES (?, ?, ?, 'manual', 'manual', ?)",
    )
      .bind(`sup-${w.contactId}`, w.teamId, w.contact.email.toLowerCase(), Date.now())
      .run();
    expect((await preview()).refused).toMatchObject({
      reason: "suppressed",
      text: expect.stringMatching(/suppression list/),
      test_allowed: true,
    });

    // The test goes to the caller, not the contact: it is sent.
    const res = await as(w.s, "POST", testPath(w.sequenceId, w.stepIds[0]!), { contact_id: w.contactId, mailbox_id: w.mailboxId });
    expect(res.status).toBe(200);
    expect(w.sent.map((m) => m.to)).toEqual([`${w.userId}@sim.test`]);

    // Blocked and refused by the composer too ({{title}} has no value): the contact's block is what the preview says
    // (the engine checks it first), and the test is refused.
    const reply = (await (await as(w.s, "POST", previewPath(w.sequenceId, w.stepIds[1]!), { contact_id: w.contactId })).json()) as Preview;
    expect(reply.refused).toMatchObject({ reason: "suppressed", test_allowed: false });
    expect(reply.missing).toEqual(["title"]);
  });
});

describe("a step's test email's unsubscribe link", () => {
  it("is a preview's: followed, or posted as a mail app's one-click Unsubscribe, it suppresses nobody, and the next test still goes", async () => {
    const w = await setup();
    const body = { contact_id: w.contactId, mailbox_id: w.mailboxId };
    expect((await as(w.s, "POST", testPath(w.sequenceId, w.stepIds[0]!), body)).status).toBe(200);
    expect(w.sent).toHaveLength(1);
    // Unfolded headers and quoted-printable soft breaks undone, so a link split over lines reads whole.
    const raw = w.sent[0]!.raw.replace(/\r\n[ \t]+/g, " ").replace(/=\r?\n/g, "");
    const header = /\r\nList-Unsubscribe: <([^>]+)>/.exec(raw)?.[1];
    const inBody = /(https?:\/\/\S+\/unsubscribe\/\S+)/.exec(raw.split("\r\n\r\n").slice(1).join("\n"))?.[1];
    expect(header).toMatch(/\/unsubscribe\/preview$/);
    expect(inBody).toMatch(/\/unsubscribe\/preview$/);

    const path = new URL(header!).pathname;
    expect((await call(path)).status).toBe(200);
    const click = await call(path, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "List-Unsubscribe=One-Click",
    });
    expect(click.status).toBe(200);
    const count = async (q: string) => (await env.DB.prepare(q).bind(w.teamId).first<{ n: number }>())!.n;
    expect(await count("SELECT count(*) n FROM suppressions WHERE team_id = ?")).toBe(0);
    expect(await count("SELECT count(*) n FROM contacts WHERE team_id = ? AND unsubscribed_at IS NOT NULL")).toBe(0);

    // Another test to the same address is sent, not refused as an unsubscribed one.
    const again = await as(w.s, "POST", testPath(w.sequenceId, w.stepIds[0]!), body);
    expect(again.status).toBe(200);
    expect(w.sent).toHaveLength(2);
  });
});
