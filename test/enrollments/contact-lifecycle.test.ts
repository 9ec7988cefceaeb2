// A contact's life around its sequences (issue 12 items 5-8): the timeline, deleting a contact (out of
// its sequences, its suppressions kept), what the contacts tab says once a sequence is off, and tasks.
import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { as, client, env, errorOf, fieldsOf, ok, type Session } from "../helpers";
import { DAY, HOUR, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";

const emailOf = async (id: string) =>
  (await env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(id).first<{ email: string }>())!.email;
const sentCount = async (contactIds: string[]) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM messages WHERE contact_id IN (SELECT value FROM json_each(?)) AND status = 'sent'")
    .bind(JSON.stringify(contactIds))
    .first<{ n: number }>())!.n;

async function importCsv(s: Session, csv: string) {
  const api = client(s).api;
  const { import: imp } = await ok(api.imports.$post({ form: { file: new File([csv], "again.csv", { type: "text/csv" }) } }), 201);
  await ok(api.imports[":id"].save.$post({ param: { id: imp.id } }), 202);
  const until = Date.now() + 60_000;
  for (;;) {
    const { import: cur } = await ok(api.imports[":id"].$get({ param: { id: imp.id } }));
    if (cur.status === "ready" || cur.status === "failed") break;
    if (Date.now() > until) throw new Error("import still saving");
    await new Promise((r) => setTimeout(r, 50));
  }
  return (
    await env.DB.prepare("SELECT row, outcome, reason FROM import_rows WHERE import_id = ? ORDER BY row")
      .bind(imp.id)
      .all<{ row: number; outcome: string; reason: string | null }>()
  ).results;
}

describe("creating a contact with dedupe", () => {
  it("two creates of one address at once (a retry over a slow answer) make one contact, and both answer with it", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const email = `twice-${crypto.randomUUID().slice(0, 8)}@example.test`;
    const create = () => api.contacts.$post({ json: { first_name: "Ada", email, dedupe: true } });
    // The first create has looked for the address (none yet) when the second one runs from start to end.
    const proto = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const originals = { raw: proto.raw!, all: proto.all!, first: proto.first! };
    // Its answer is read where it was made (a body can't be read from another request's context).
    let second: Promise<unknown> | null = null;
    for (const [name, fn] of Object.entries(originals))
      proto[name] = async function (this: { statement: string }, ...a: unknown[]) {
        const out = await fn.apply(this, a);
        if (!second && /^select/i.test(this.statement) && /lower\("contacts"\."email"\) = \?/.test(this.statement)) {
          second = create().then((r) => r.json() as Promise<unknown>);
          await second;
        }
        return out;
      };
    let first: Response;
    try {
      first = (await create()) as unknown as Response;
    } finally {
      Object.assign(proto, originals);
    }
    const answers = [await first.json(), await second!] as { contact: { id: string } }[];
    const live = await env.DB.prepare("SELECT id FROM contacts WHERE team_id = ? AND email = ? AND deleted_at IS NULL")
      .bind(teamId, email)
      .all<{ id: string }>();
    expect(live.results).toHaveLength(1);
    expect(answers.map((a) => a.contact.id)).toEqual([live.results[0]!.id, live.results[0]!.id]);
  });
});

describe("editing a contact", () => {
  it("sets and removes custom fields, keeping the others; a key a template couldn't name is a 422", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { contact } = await ok(api.contacts.$post({ json: { first_name: "Ada", custom_fields: { plan: "pro", seats: "12" } } }), 201);
    expect(contact.custom_fields).toEqual({ plan: "pro", seats: "12" });
    const one = api.contacts[":id"];
    const { contact: after } = await ok(one.$patch({ param: { id: contact.id }, json: { custom_fields: { plan: null, tier: "gold" } } }));
    expect(after.custom_fields).toEqual({ seats: "12", tier: "gold" });
    const bad = await errorOf(await one.$patch({ param: { id: contact.id }, json: { custom_fields: { "Plan Name": "x" } } }));
    expect(bad.status).toBe(422);
    expect(fieldsOf(bad)[0]!.field).toMatch(/^custom_fields/);
    expect((await ok(one.$get({ param: { id: contact.id } }))).contact.custom_fields).toEqual({ seats: "12", tier: "gold" });
  });
});

describe("what a contact's page says of their runs", () => {
  beforeEach(() => startSimulation());

  it("says what the sequence's contacts tab says: a disconnected mailbox, a sequence turned off, not 'Queued'", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 1 }], null);
    const mailboxId = await makeMailbox(teamId, userId);
    const [contactId] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
    const run = async () => (await ok(api.contacts[":id"].sequences.$get({ param: { id: contactId! } }))).sequences[0]!;
    await ok(api.mailboxes[":id"].disconnect.$post({ param: { id: mailboxId } }));
    expect(await run()).toMatchObject({
      status: "active",
      reason: "mailbox_disconnected",
      reason_text: expect.stringMatching(/^Mailbox is disconnected/),
    });
    await ok(api.sequences[":id"].$patch({ param: { id: sequenceId }, json: { active: false } }));
    expect(await run()).toMatchObject({ status: "active", reason: "sequence_inactive" });
  });
});

describe("deleting a contact", () => {
  beforeEach(() => startSimulation());

  it("a member can't delete a contact out of a sequence they can't edit (403, nothing changes); the sequence's owner can", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 5 }], null);
    const [inSequence, loose] = await makeContacts(teamId, 2);
    await enroll(teamId, sequenceId, [inSequence!], [await makeMailbox(teamId, userId)]);
    const memberId = crypto.randomUUID().replace(/-/g, "").slice(0, 24);
    await env.DB.prepare(
      "INSERT INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, 'M', 'member', 'x', 0)",
    )
      .bind(memberId, teamId, `${memberId}@sim.test`)
      .run();
    const member = client(await sessionFor(teamId, memberId)).api;
    const refused = await errorOf(await member.contacts.bulk.$post({ json: { action: "delete", contact_ids: [inSequence!, loose!] } }));
    expect(refused).toMatchObject({ status: 403, message: expect.stringMatching(/^1 of these contacts is in a sequence you can't edit/) });
    const state = () =>
      env.DB.prepare(
        "SELECT (SELECT status FROM enrollments WHERE contact_id = ?1) AS enrollment, (SELECT count(*) FROM contacts WHERE id IN (?1, ?2) AND deleted_at IS NULL) AS live",
      )
        .bind(inSequence, loose)
        .first();
    expect(await state()).toEqual({ enrollment: "active", live: 2 });
    // A contact in no sequence is the member's to delete; the sequence's owner deletes the other.
    await ok(member.contacts[":id"].$delete({ param: { id: loose! } }));
    await ok(client(await sessionFor(teamId, userId)).api.contacts[":id"].$delete({ param: { id: inSequence! } }));
    expect(await state()).toEqual({ enrollment: "removed", live: 0 });
  });

  it("takes it out of its sequences (nothing is sent after) and keeps its suppression: re-importing by CSV or re-saving by API is skipped with the reason", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 1 }, { wait: 1 }], null);
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    const [unsub, bounced, dnc, plain] = await makeContacts(teamId, 4);
    await env.DB.batch([
      env.DB.prepare("UPDATE contacts SET unsubscribed_at = ? WHERE id = ?").bind(now(), unsub),
      env.DB.prepare("UPDATE contacts SET bounced_at = ? WHERE id = ?").bind(now(), bounced),
      env.DB.prepare("UPDATE contacts SET stage_id = ? WHERE id = ?").bind(`${teamId}-dnc`, dnc),
    ]);
    await enroll(teamId, sequenceId, [unsub!, bounced!, dnc!, plain!], [mb]);
    const emails = await Promise.all([unsub!, bounced!, dnc!, plain!].map(emailOf));

    const api = client(s).api;
    const contact = (id: string) => api.contacts[":id"];
    expect(await ok(contact(plain!).$delete({ param: { id: plain! } }))).toMatchObject({
      deleted: true,
      removed_from_sequences: 1,
      suppressed: 0,
    });
    const bulk = await ok(api.contacts.bulk.$post({ json: { action: "delete", contact_ids: [unsub!, bounced!, dnc!] } }));
    expect(bulk).toMatchObject({ updated: 3, removed_from_sequences: 3, suppressed: 3 });

    const rows = (
      await env.DB.prepare("SELECT status, reason FROM enrollments WHERE sequence_id = ?")
        .bind(sequenceId)
        .all<{ status: string; reason: string }>()
    ).results;
    expect(rows).toEqual(Array(4).fill({ status: "removed", reason: "contact_deleted" }));
    await runUntil(now() + 5 * DAY);
    expect(await sentCount([unsub!, bounced!, dnc!, plain!])).toBe(0);
    expect((await contact(plain!).$get({ param: { id: plain! } })).status).toBe(404);
    expect((await contact(plain!).$delete({ param: { id: plain! } })).status).toBe(404);

    const kept = (
      await env.DB.prepare("SELECT email, reason FROM suppressions WHERE team_id = ? ORDER BY reason")
        .bind(teamId)
        .all<{ email: string; reason: string }>()
    ).results;
    expect(kept).toEqual([
      { email: emails[1], reason: "bounced" },
      { email: emails[2], reason: "dnc" },
      { email: emails[0], reason: "unsubscribed" },
    ]);

    // Re-saving through the API: refused with the reason, naming the email; the plain address saves again.
    const again = await api.contacts.$post({ json: { first_name: "Back", email: emails[0] } });
    expect(again.status).toBe(422);
    const err = await errorOf(again);
    expect(fieldsOf(err)[0]).toMatchObject({ field: "email" });
    expect(fieldsOf(err)[0]!.message).toMatch(/unsubscribed/i);
    const plainAgain = await ok(api.contacts.$post({ json: { first_name: "Plain", email: emails[3] } }), 201);
    // Nor through Apollo's facade, nor by changing another contact's address to it.
    const viaApollo = await as(s, "POST", "/apollo/v1/contacts", { first_name: "Back", email: emails[1] });
    expect(fieldsOf(await errorOf(viaApollo))[0]).toMatchObject({ field: "email", message: expect.stringMatching(/bounced/i) });
    const changed = await api.contacts[":id"].$patch({ param: { id: plainAgain.contact.id }, json: { email: emails[2] } });
    expect(fieldsOf(await errorOf(changed))[0]).toMatchObject({ field: "email", message: expect.stringMatching(/do not contact/i) });

    // Re-importing by CSV: the suppressed rows are not imported, each with its reason.
    const imported = await importCsv(s, `email,first_name\n${emails[0]},A\n${emails[1]},B\n${emails[2]},C\nnew.${emails[3]},D\n`);
    expect(imported.map((r) => r.outcome)).toEqual(["error", "error", "error", "created"]);
    expect(imported[0]!.reason).toMatch(/unsubscribed/i);
    expect(imported[1]!.reason).toMatch(/bounced/i);
    expect(imported[2]!.reason).toMatch(/do not contact/i);
    const live = await env.DB.prepare(
      "SELECT count(*) AS n FROM contacts WHERE team_id = ? AND deleted_at IS NULL AND email IN (SELECT value FROM json_each(?))",
    )
      .bind(teamId, JSON.stringify(emails.slice(0, 3)))
      .first<{ n: number }>();
    expect(live!.n).toBe(0);
  });
});

describe("a contact's timeline", () => {
  beforeEach(() => startSimulation());

  it("lists every email with its step and mailbox, the task, the call with its outcome and notes, and each status change with who made it, newest first and paged", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { type: "call", wait: 1 }, { wait: 1 }], null);
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    const mbEmail = (await env.DB.prepare("SELECT email FROM mailboxes WHERE id = ?").bind(mb).first<{ email: string }>())!.email;
    const [c] = await makeContacts(teamId, 1);
    await env.DB.prepare("UPDATE contacts SET phone = NULL WHERE id = ?").bind(c).run();
    await enroll(teamId, sequenceId, [c!], [mb]);
    await runUntil(now() + DAY + HOUR);

    const api = client(s).api;
    const { tasks } = await ok(api.tasks.$get({ query: { assignee: "all" } }));
    expect(tasks).toHaveLength(1);
    expect(tasks[0]!.warning).toMatch(/no phone/i);
    await ok(
      api.tasks[":id"].call.$post({ param: { id: tasks[0]!.id }, json: { outcome: "no_answer", notes: "Try again Tuesday morning" } }),
    );
    expect((await env.DB.prepare("SELECT status FROM tasks WHERE id = ?").bind(tasks[0]!.id).first<{ status: string }>())!.status).toBe(
      "completed",
    );
    const [enr] = (await env.DB.prepare("SELECT id FROM enrollments WHERE contact_id = ?").bind(c).all<{ id: string }>()).results;
    setClockForward();
    expect(
      (
        await api.sequences[":id"].enrollments[":action"].$post({
          param: { id: sequenceId, action: "pause" },
          json: { enrollment_ids: [enr!.id] },
        })
      ).status,
    ).toBe(200);

    const timeline = api.contacts[":id"].timeline;
    const { events } = await ok(timeline.$get({ param: { id: c! }, query: {} }));
    const ats = events.map((e) => e.at);
    expect(ats).toEqual([...ats].sort((a, b) => b - a));
    const email = events.find((e) => e.kind === "email")!;
    expect(email).toMatchObject({ step: 1, mailbox: mbEmail, sequence: { id: sequenceId } });
    expect(events.find((e) => e.kind === "task")).toMatchObject({ step: 2 });
    const callEv = events.find((e) => e.kind === "call")!;
    expect(callEv.title).toMatch(/no answer/i);
    expect(callEv.detail).toBe("Try again Tuesday morning");
    expect(callEv.by?.name).toBeTruthy();
    const paused = events.find((e) => e.kind === "status" && /paused/i.test(e.title))!;
    expect(paused.by?.name).toBeTruthy();
    expect(events[0]!.id).toBe(paused.id);
    expect(events.some((e) => e.kind === "added")).toBe(true);

    const page1 = await ok(timeline.$get({ param: { id: c! }, query: { per_page: 2 } }));
    const page2 = await ok(timeline.$get({ param: { id: c! }, query: { per_page: 2, page: 2 } }));
    expect(page1.has_more).toBe(true);
    expect([...page1.events, ...page2.events].map((e) => e.id)).toEqual(events.slice(0, 4).map((e) => e.id));

    const other = await makeTeam();
    const rival = client(await sessionFor(other.teamId, other.userId)).api;
    expect((await rival.contacts[":id"].timeline.$get({ param: { id: c! }, query: {} })).status).toBe(404);
  });
});

describe("what the contacts tab says is what will happen", () => {
  beforeEach(() => startSimulation());

  it("after the sequence is turned off its active contacts say so, with no next action, and its scheduled emails say they are held", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }], null);
    const mb = await makeMailbox(teamId, userId, { daily: 1, hourly: 1, gapSeconds: 0 });
    await enroll(teamId, sequenceId, await makeContacts(teamId, 3), [mb]);
    await runUntil(now() + 10 * 60_000); // one sent, two queued behind the cap
    const api = client(s).api;
    const before = await ok(api["scheduled-emails"].$get({ query: { sequence_id: sequenceId } }));
    expect(before.scheduled.length).toBeGreaterThan(0);

    await ok(api.sequences[":id"].$patch({ param: { id: sequenceId }, json: { active: false } }));
    const { enrollments } = await ok(api.sequences[":id"].enrollments.$get({ param: { id: sequenceId }, query: {} }));
    expect(enrollments).toHaveLength(3);
    for (const e of enrollments) {
      expect(e.reason).toBe("sequence_inactive");
      expect(e.reason_text).toMatch(/inactive/i);
      expect(e.next_action_at).toBeNull();
    }
    // Its not-yet-sent emails are listed as held, with the reason and no time (issue 12 item 8: why it won't go).
    for (const query of [{ sequence_id: sequenceId }, { mailbox_id: mb }]) {
      const { scheduled } = await ok(api["scheduled-emails"].$get({ query }));
      expect(scheduled.length).toBeGreaterThan(0);
      for (const x of scheduled) expect(x).toMatchObject({ state: "held", reason: "sequence_inactive", send_at: null });
    }
  });
});

describe("a scheduled email you can look at", () => {
  beforeEach(() => startSimulation());

  it("previews the contact's next email as they will get it: their values in the template, the variant they get, the mailbox it goes from", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 2 }], null);
    await env.DB.prepare(
      "UPDATE step_variants SET subject = 'Hi {{first_name}}', body = 'About {{company}}, {{title | your team}} in {{city}}.' WHERE step_id = ?",
    )
      .bind(stepIds[1])
      .run();
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    const [c] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [c!], [mb]);
    await runUntil(now() + HOUR); // step 1 sent: the next email is step 2
    const [e] = (await env.DB.prepare("SELECT id FROM enrollments WHERE contact_id = ?").bind(c).all<{ id: string }>()).results;
    const api = client(s).api;
    const nextEmail = () =>
      api.sequences[":id"].enrollments[":enrollment_id"]["next-email"].$get({ param: { id: sequenceId, enrollment_id: e!.id } });
    const p = await ok(nextEmail());
    expect(p.step.position).toBe(2);
    expect(p.to).toBe(await emailOf(c!));
    expect(p.subject).toBe("Hi First0");
    expect(p.body).toMatch(/^About Acme, your team in/);
    expect(p.missing).toContain("city");
    expect(p.from!.email).toBe(
      (await env.DB.prepare("SELECT email FROM mailboxes WHERE id = ?").bind(mb).first<{ email: string }>())!.email,
    );
    // Finished contacts get nothing more: 409 says so
    await ok(
      api.sequences[":id"].enrollments[":action"].$post({ param: { id: sequenceId, action: "finish" }, json: { enrollment_ids: [e!.id] } }),
    );
    expect((await nextEmail()).status).toBe(409);
  });
});

/** The pause lands after the call in simulated time, so "newest first" has one answer. */
function setClockForward() {
  return runUntil(now() + 60_000);
}
