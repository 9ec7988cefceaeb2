// The add-contacts preview says what the job will do: a person whose contact was deleted is not previewed as
// net-new and enrolled (the job adds their deleted contact and skips it), and a contact whose address runs in
// another sequence under a twin contact is warned about like one running there itself.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { renderTemplate } from "../../worker/services/templates";
import { client, env, ok } from "../helpers";
import { addContactsSetup, makeContacts, waitForJob } from "../fixtures";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];
type AddContacts = ReturnType<typeof client>["api"]["sequences"][":id"]["add-contacts"];
type PreviewArgs = Parameters<AddContacts["preview"]["$post"]>[0];
const preview = (s: S, seq: string, json: PreviewArgs["json"]) =>
  client(s).api.sequences[":id"]["add-contacts"].preview.$post({ param: { id: seq }, query: {}, json });
const commit = (s: S, seq: string, json: Parameters<AddContacts["$post"]>[0]["json"]) =>
  client(s).api.sequences[":id"]["add-contacts"].$post({ param: { id: seq }, header: {}, json });
const count = async (q: string, ...b: unknown[]) =>
  (
    await env.DB.prepare(q)
      .bind(...b)
      .first<{ n: number }>()
  )?.n ?? 0;
const outcomesOf = async (jobId: string) =>
  (
    await env.DB.prepare("SELECT contact_id, person_id, outcome, reasons, credit_cost FROM job_outcomes WHERE job_id = ?")
      .bind(jobId)
      .all<{ contact_id: string | null; person_id: string | null; outcome: string; reasons: string; credit_cost: number }>()
  ).results.map((r) => ({ ...r, reasons: JSON.parse(r.reasons) as string[] }));

async function person(offset: number) {
  return (await env.DB.prepare(
    "SELECT id, email FROM people WHERE email_status = 'verified' AND job_changed_at IS NULL ORDER BY id LIMIT 1 OFFSET ?",
  )
    .bind(offset)
    .first<{ id: string; email: string }>())!;
}

/** Another active sequence of the team, with `contactId` running in it. */
async function runningElsewhere(x: Awaited<ReturnType<typeof addContactsSetup>>, contactId: string) {
  const other = crypto.randomUUID();
  await env.DB.batch([
    env.DB.prepare(
      "INSERT INTO sequences (id, team_id, owner_id, name, active, created_at, updated_at) VALUES (?, ?, ?, 'Other', 1, 0, 0)",
    ).bind(other, x.teamId, x.userId),
    env.DB.prepare(
      "INSERT INTO enrollments (id, team_id, sequence_id, contact_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'active', 0, 0)",
    ).bind(crypto.randomUUID(), x.teamId, other, contactId),
  ]);
  return other;
}

beforeEach(() => resetClock());

describe("a person whose own contact was deleted, added from People", () => {
  it("is previewed as the job adds them: their deleted contact, skipped as not found, no credit, no new contact", async () => {
    const x = await addContactsSetup({ credits: 10 });
    const p = await person(11);
    const [kept] = await makeContacts(x.teamId, 1);
    const [gone] = await makeContacts(x.teamId, 1);
    await env.DB.prepare("UPDATE contacts SET person_id = ?, email = ?, deleted_at = 1 WHERE id = ?").bind(p.id, p.email, gone).run();

    const pv = await ok(preview(x.s, x.sequenceId, { source: { people_ids: [p.id], contact_ids: [kept!] } }));
    expect(pv.totals).toMatchObject({ candidates: 2, enrolled: 1, skipped: 1, reasons: { not_found: 1 } });
    expect(pv.credits).toMatchObject({ exact: 0, maximum: 0 });
    const shown = pv.contacts.find((c) => c.contact_id !== kept);
    expect(shown).toMatchObject({ contact_id: gone, net_new: false, outcome: "skipped", credit_cost: 0 });
    expect(shown!.reasons).toContain("not_found");
    expect(pv.reasons.not_found?.fix).toMatch(/save them to a list/);

    const { job } = await ok(commit(x.s, x.sequenceId, { source: { people_ids: [p.id], contact_ids: [kept!] } }), 202);
    const done = await waitForJob(job.id);
    // The job's outcomes are the preview's totals, contact by contact.
    expect(done).toMatchObject({ status: "completed", enrolled: pv.totals.enrolled, skipped: pv.totals.skipped, credits_used: 0 });
    const outcomes = await outcomesOf(job.id);
    expect(outcomes.find((o) => o.contact_id !== kept)).toMatchObject({ contact_id: gone, outcome: "skipped", reasons: shown!.reasons });
    expect(await count("SELECT count(*) n FROM contacts WHERE team_id = ? AND person_id = ?", x.teamId, p.id)).toBe(1);
    expect(await count("SELECT count(*) n FROM contacts WHERE team_id = ? AND deleted_at IS NULL", x.teamId)).toBe(1);
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(1);
    expect(await count("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(10);
  });

  it("with a live contact of their address made since, is that contact (previewed and added)", async () => {
    const x = await addContactsSetup({ credits: 10 });
    const p = await person(12);
    const [gone, live] = await makeContacts(x.teamId, 2);
    await env.DB.batch([
      env.DB.prepare("UPDATE contacts SET person_id = ?, email = ?, deleted_at = 1 WHERE id = ?").bind(p.id, p.email, gone),
      env.DB.prepare("UPDATE contacts SET email = ? WHERE id = ?").bind(p.email, live),
    ]);
    const pv = await ok(preview(x.s, x.sequenceId, { source: { people_ids: [p.id] } }));
    expect(pv.contacts).toEqual([expect.objectContaining({ contact_id: live, outcome: "enrolled", net_new: false, credit_cost: 0 })]);
    const { job } = await ok(commit(x.s, x.sequenceId, { source: { people_ids: [p.id] } }), 202);
    expect(await waitForJob(job.id)).toMatchObject({ status: "completed", enrolled: 1, skipped: 0, credits_used: 0 });
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ? AND contact_id = ?", x.sequenceId, live)).toBe(1);
  });
});

describe("a twin (another live contact with the address) running in another sequence", () => {
  it("warns active in another sequence in the preview, and the job holds the contact back unless overridden", async () => {
    const x = await addContactsSetup();
    const [a, b, alone] = await makeContacts(x.teamId, 3);
    await env.DB.prepare("UPDATE contacts SET email = (SELECT upper(email) FROM contacts WHERE id = ?) WHERE id = ?").bind(a, b).run();
    await runningElsewhere(x, b!);

    const pv = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: [a!, alone!] } }));
    const shown = Object.fromEntries(pv.contacts.map((c) => [c.contact_id, [c.outcome, c.reasons]]));
    expect(shown).toEqual({ [a!]: ["warned", ["active_in_other_sequence"]], [alone!]: ["enrolled", []] });
    expect(pv.warnings).toEqual([expect.objectContaining({ category: "active_in_other_sequence", count: 1, held_back: 1 })]);

    const held = await ok(commit(x.s, x.sequenceId, { source: { contact_ids: [a!, alone!] } }), 202);
    expect(await waitForJob(held.job.id)).toMatchObject({ status: "completed", enrolled: 1, warned: 1 });
    expect((await outcomesOf(held.job.id)).find((o) => o.contact_id === a)).toMatchObject({
      outcome: "warned",
      reasons: ["active_in_other_sequence"],
    });
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ? AND contact_id = ?", x.sequenceId, a)).toBe(0);

    const anyway = await ok(
      commit(x.s, x.sequenceId, { source: { contact_ids: [a!] }, overrides: { active_in_other_sequence: true } }),
      202,
    );
    expect(await waitForJob(anyway.job.id)).toMatchObject({ status: "completed", enrolled: 1, warned: 0 });
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ? AND contact_id = ?", x.sequenceId, a)).toBe(1);
  });

  it("a deleted twin running elsewhere is no twin: no warning", async () => {
    const x = await addContactsSetup();
    const [a, b] = await makeContacts(x.teamId, 2);
    await env.DB.prepare("UPDATE contacts SET email = (SELECT email FROM contacts WHERE id = ?), deleted_at = 1 WHERE id = ?")
      .bind(a, b)
      .run();
    await runningElsewhere(x, b!);
    const pv = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: [a!] } }));
    expect(pv.contacts[0]).toMatchObject({ contact_id: a, outcome: "enrolled", reasons: [] });
  });
});

describe("template variables some contacts have no value for", () => {
  it("are counted per variable among the contacts not skipped, saying what the send does: the fallback, or a pause", async () => {
    const x = await addContactsSetup({
      steps: [
        {
          wait: 0,
          variants: [
            {
              subject: "Hi {{first_name|there}}",
              body: "About {{company}} in {{ City | your city }}: {{custom.deal_size|your deal}}, {{sender_name}}",
            },
          ],
        },
        // A same-thread reply goes under the thread's subject: its own subject's variables are never filled.
        { wait: 2, threadReply: true, variants: [{ subject: "{{last_name}}", body: "As {{title}}, {{first_name}}…" }] },
        { wait: 2, enabled: false, variants: [{ subject: "{{country}}", body: "{{country}}" }] },
      ],
    });
    const [noCompany, blankCompany, noFirstName, withDeal, unsubscribed] = await makeContacts(x.teamId, 5);
    await env.DB.batch([
      env.DB.prepare("UPDATE contacts SET company = NULL WHERE id = ?").bind(noCompany),
      env.DB.prepare("UPDATE contacts SET company = ' \t' WHERE id = ?").bind(blankCompany),
      env.DB.prepare("UPDATE contacts SET first_name = '' WHERE id = ?").bind(noFirstName),
      env.DB.prepare(`UPDATE contacts SET custom_fields = '{"deal_size":"10k"}', city = 'Lyon', title = 'CTO' WHERE id = ?`).bind(withDeal),
      env.DB.prepare("UPDATE contacts SET company = NULL, first_name = '', unsubscribed_at = 1 WHERE id = ?").bind(unsubscribed),
    ]);
    const p = await person(13);

    const ids = [noCompany!, blankCompany!, noFirstName!, withDeal!, unsubscribed!];
    const pv = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: ids, people_ids: [p.id] } }));
    expect(pv.totals).toMatchObject({ candidates: 6, skipped: 1 });
    const byVariable = Object.fromEntries(pv.missing_variables.map((m) => [m.variable, m]));
    expect(Object.keys(byVariable).sort()).toEqual(["city", "company", "custom.deal_size", "first_name", "title"]);
    // Step 1 has a fallback and sends; step 2 has none and pauses: each step is told apart.
    expect(byVariable.first_name).toEqual({
      variable: "first_name",
      count: 1,
      steps: [1, 2],
      pause_steps: [2],
      pauses: true,
      fallbacks: ["there"],
      message:
        "1 contact has no first name: the email at step 1 will say “there” instead; the email at step 2 uses {{first_name}} without a fallback, so it won't be sent to them and they pause there until it is filled in and they are resumed",
    });
    expect(byVariable.company).toMatchObject({ count: 2, steps: [1], pause_steps: [1], pauses: true, fallbacks: [] });
    // The person has a city (people always do); the contacts but one have none.
    expect(byVariable.city).toMatchObject({
      count: 3,
      pauses: false,
      fallbacks: ["your city"],
      message: "3 contacts have no city: the email at step 1 will say “your city” instead",
    });
    // A person has no custom fields: the contact made from them has none either.
    expect(byVariable["custom.deal_size"]).toMatchObject({
      count: 4,
      message: "4 contacts have no deal size: the email at step 1 will say “your deal” instead",
    });
    expect(byVariable.title).toMatchObject({ count: 3, steps: [2], pauses: true });
    // The words are the send's: what renderTemplate writes for a contact without a value.
    const rendered = renderTemplate("{{ City | your city }}", { contact: {}, sender: {}, now: 0, timeZone: "UTC" });
    expect(byVariable.city!.fallbacks).toEqual([rendered]);
    // A warning, not a skip: nobody is held back or skipped for it.
    expect(pv.totals).toMatchObject({ enrolled: 5, warned: 0 });
  });

  it("a step using a variable with and without a fallback pauses, and the steps after it aren't reached; only the contacts that will be added are counted", async () => {
    const x = await addContactsSetup({
      steps: [
        { wait: 0, variants: [{ subject: "Hi {{first_name|there}}", body: "{{company|your team}}" }] },
        { wait: 2, variants: [{ subject: "Re {{company|your team}}", body: "{{company}} again" }] },
        { wait: 2, variants: [{ subject: "Last", body: "{{company|}} bye" }] },
      ],
    });
    const [added, heldBack] = await makeContacts(x.teamId, 2);
    await env.DB.prepare("UPDATE contacts SET company = NULL WHERE id IN (?, ?)").bind(added, heldBack).run();
    await runningElsewhere(x, heldBack!);

    const ids = [added!, heldBack!];
    const held = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: ids } }));
    expect(held.totals).toMatchObject({ enrolled: 1, warned: 1 });
    // Step 2's fallback in its subject never shows: its body has none, so its email is not sent.
    expect(held.missing_variables).toEqual([
      {
        variable: "company",
        count: 1,
        steps: [1, 2, 3],
        pause_steps: [2],
        pauses: true,
        // Step 3's empty fallback is never used: they pause at step 2 first.
        fallbacks: ["your team"],
        message:
          "1 contact has no company: the email at step 1 will say “your team” instead; the email at step 2 uses {{company}} without a fallback, so it won't be sent to them and they pause there until it is filled in and they are resumed; they don't reach step 3 before that",
      },
    ]);
    // Overriding the warning adds the held-back contact too: now both are counted.
    const anyway = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: ids }, overrides: { active_in_other_sequence: true } }));
    expect(anyway.totals).toMatchObject({ enrolled: 2, warned: 0 });
    expect(anyway.missing_variables).toMatchObject([{ variable: "company", count: 2, pause_steps: [2] }]);
  });

  it("a step without a fallback before one with: the contacts pause at the first, and the later one is not said to be sent", async () => {
    const x = await addContactsSetup({
      steps: [
        { wait: 0, variants: [{ subject: "Hi {{first_name}}", body: "A note" }] },
        // A step that is off is never sent: it neither pauses them nor says anything.
        { wait: 1, enabled: false, variants: [{ subject: "Off", body: "{{first_name|friend}}" }] },
        { wait: 2, variants: [{ subject: "Again", body: "Hello {{ first_name | there }}" }] },
        { wait: 2, variants: [{ subject: "Last", body: "{{first_name|}} bye" }] },
      ],
    });
    const [nameless] = await makeContacts(x.teamId, 1);
    await env.DB.prepare("UPDATE contacts SET first_name = '' WHERE id = ?").bind(nameless).run();

    const pv = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: [nameless!] } }));
    expect(pv.missing_variables).toEqual([
      {
        variable: "first_name",
        count: 1,
        steps: [1, 3, 4],
        pause_steps: [1],
        pauses: true,
        // Nothing they are sent says a fallback: their first email is the one that pauses them.
        fallbacks: [],
        message:
          "1 contact has no first name: the email at step 1 uses {{first_name}} without a fallback, so it won't be sent to them and they pause there until it is filled in and they are resumed; they don't reach steps 3, 4 before that",
      },
    ]);
    expect(pv.missing_variables[0]!.message).not.toMatch(/will say/);
  });

  it("a step whose variant B has no fallback and A has: the contacts who get B pause there, those who get A go on", async () => {
    const x = await addContactsSetup({
      steps: [
        {
          wait: 0,
          variants: [
            { subject: "Hi {{first_name|there}}", body: "A" },
            { subject: "Hello {{first_name}}", body: "B" },
          ],
        },
        { wait: 2, variants: [{ subject: "Again", body: "{{first_name|friend}}, still there?" }] },
        {
          wait: 2,
          variants: [
            { subject: "Last", body: "{{first_name}}, bye" },
            { subject: "Last", body: "Bye" },
            { subject: "Last", body: "{{first_name}}, so long" },
          ],
        },
        { wait: 2, variants: [{ subject: "Really last", body: "{{first_name}}?" }] },
        { wait: 2, variants: [{ subject: "Never", body: "{{first_name|you}}" }] },
      ],
    });
    const ids = await makeContacts(x.teamId, 2);
    await env.DB.prepare("UPDATE contacts SET first_name = '' WHERE id IN (?, ?)").bind(ids[0], ids[1]).run();

    const pv = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: ids } }));
    expect(pv.missing_variables).toEqual([
      {
        variable: "first_name",
        count: 2,
        steps: [1, 2, 3, 4, 5],
        // Step 1 and 3 pause those given a variant without a fallback; step 4 pauses everyone left; step 5 is not reached.
        pause_steps: [1, 3, 4],
        pauses: true,
        fallbacks: ["there", "friend"],
        message:
          "2 contacts have no first name: at step 1, those who get variant B pause there (it uses {{first_name}} without a fallback, so it isn't sent to them) until it is filled in and they are resumed, and those who get variant A are sent an email that will say “there” instead; " +
          "for those who go on, the email at step 2 will say “friend” instead; " +
          "for those who go on, at step 3, those who get variants A and C pause there (those variants use {{first_name}} without a fallback, so it isn't sent to them) until it is filled in and they are resumed, and those who get variant B are sent an email that doesn't use it; " +
          "for those who go on, the email at step 4 uses {{first_name}} without a fallback, so it won't be sent to them and they pause there until it is filled in and they are resumed; they don't reach step 5 before that",
      },
    ]);
  });

  it("none when every contact has every value the emails use", async () => {
    const x = await addContactsSetup();
    const ids = await makeContacts(x.teamId, 3);
    const pv = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: ids } }));
    expect(pv.missing_variables).toEqual([]);
  });
});
