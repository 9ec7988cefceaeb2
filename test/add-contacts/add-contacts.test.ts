import { beforeEach, describe, expect, it } from "vitest";
import { resetClock, setClock } from "../../worker/lib/clock";
import { processChunk } from "../../worker/services/add-contacts/jobs";
import { DEFAULT_WATERFALL, runWaterfall } from "../../worker/services/enrichment";
import { newId } from "../../worker/lib/ids";
import type { contacts, creditLedger } from "../../worker/db/schema";
import { as, client, detailsOf, env, errorOf, fieldsOf, login, ok, type RawRow } from "../helpers";
import { addContactsSetup, makeContacts, makeList, makeUser, sessionFor, waitForJob } from "../fixtures";

const count = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;
type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];
type AddContacts = ReturnType<typeof client>["api"]["sequences"][":id"]["add-contacts"];
type PreviewArgs = Parameters<AddContacts["preview"]["$post"]>[0];
const preview = (s: S, seq: string, json: PreviewArgs["json"], query: PreviewArgs["query"] = {}) =>
  client(s).api.sequences[":id"]["add-contacts"].preview.$post({ param: { id: seq }, query, json });
const commit = (s: S, seq: string, json: Parameters<AddContacts["$post"]>[0]["json"]) =>
  client(s).api.sequences[":id"]["add-contacts"].$post({ param: { id: seq }, header: {}, json });

/** People from the shared prospect database: verified and without email. */
async function people(status: string, n: number, offset = 0) {
  const { results } = await env.DB.prepare("SELECT id FROM people WHERE email_status = ? ORDER BY id LIMIT ? OFFSET ?")
    .bind(status, n, offset)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

beforeEach(() => resetClock());

describe("add contacts: preview", () => {
  it("charges 1 credit per net-new verified person and none for saved contacts; the same request gives the same preview", async () => {
    const x = await addContactsSetup();
    const verified = await people("verified", 5);
    const saved = await makeContacts(x.teamId, 3);
    const body = { source: { people_ids: verified, contact_ids: saved } };
    const a = await ok(preview(x.s, x.sequenceId, body));
    expect(a.preconditions).toEqual([]);
    expect(a.totals).toMatchObject({ candidates: 8, enrolled: 8, warned: 0, skipped: 0 });
    expect(a.credits).toMatchObject({ exact: 5, maximum: 5, balance: 1000, fits: null });
    expect(a.contacts.filter((c) => c.net_new).every((c) => c.credit_cost === 1)).toBe(true);
    expect(a.contacts.filter((c) => !c.net_new).every((c) => c.credit_cost === 0)).toBe(true);
    expect(a.mailboxes[0]).toMatchObject({ mailbox_id: x.mailboxIds[0], assigned: 8 });
    expect(a.mailboxes[0]!.all_step1_by).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const b = await ok(preview(x.s, x.sequenceId, body));
    expect(b).toEqual(a);
    // nothing written
    expect(await count("SELECT count(*) n FROM jobs WHERE team_id = ?", x.teamId)).toBe(0);
    expect(await count("SELECT count(*) n FROM contacts WHERE team_id = ?", x.teamId)).toBe(3);
  });

  it("a person picked twice is one candidate: counted, charged and held once, saved and enrolled once", async () => {
    const x = await addContactsSetup();
    const [p1, p2] = await people("verified", 2);
    const body = { source: { people_ids: [p1!, p2!, p1!, p1!] } };
    const a = await ok(preview(x.s, x.sequenceId, body));
    expect(a.totals).toMatchObject({ candidates: 2, enrolled: 2, warned: 0, skipped: 0 });
    expect(a.credits).toMatchObject({ exact: 2, maximum: 2 });
    const { job } = await ok(commit(x.s, x.sequenceId, body), 202);
    const done = await waitForJob(job.id);
    expect(done).toMatchObject({ status: "completed", total: 2, enrolled: 2, skipped: 0, credits_held: 2, credits_used: 2 });
    // What the job's label counts ("2 people picked").
    expect(JSON.parse(done.source)).toMatchObject({ kind: "people", people: 2 });
    expect(await count("SELECT count(*) n FROM contacts WHERE team_id = ? AND person_id = ?", x.teamId, p1)).toBe(1);
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(2);
    expect(await count("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(998);
    // A repeated id counts once against its array's maximum (README's limits): one past each maximum in copies of
    // one person, contact, list and mailbox is one of each; one past it in different ids, a 422 naming the field in words.
    const [c] = await makeContacts(x.teamId, 1);
    const list = await makeList(x.teamId, x.userId, [c!]);
    const copies = {
      source: { people_ids: Array(10_001).fill(p2!), contact_ids: Array(10_001).fill(c!), list_ids: Array(101).fill(list) },
      mailbox_ids: Array(51).fill(x.mailboxIds[0]!),
    };
    const most = await ok(preview(x.s, x.sequenceId, copies));
    expect(most.totals).toMatchObject({ candidates: 2 });
    expect(most.mailboxes.map((m) => m.mailbox_id)).toEqual([x.mailboxIds[0]]);
    const past = (first: string, max: number) => [first, ...Array.from({ length: max }, () => newId())];
    const over: [PreviewArgs["json"], string, string][] = [
      [{ source: { people_ids: past(p2!, 10_000) } }, "source.people_ids", "People can have at most 10,000 items"],
      [{ source: { contact_ids: past(c!, 10_000) } }, "source.contact_ids", "Contacts can have at most 10,000 items"],
      [{ source: { list_ids: past(list, 100) } }, "source.list_ids", "Lists can have at most 100 items"],
      [{ source: { contact_ids: [c!] }, mailbox_ids: past(x.mailboxIds[0]!, 50) }, "mailbox_ids", "Mailboxes can have at most 50 items"],
    ];
    for (const [body, field, message] of over) {
      const res = await preview(x.s, x.sequenceId, body);
      expect(res.status).toBe(422);
      expect(fieldsOf(await errorOf(res))).toEqual([expect.objectContaining({ field, message })]);
    }
  });

  it("skips unsubscribed, bounced, Do Not Contact, suppressed and already-enrolled contacts, each with its reason", async () => {
    const x = await addContactsSetup();
    const [u, b, d, sup, enrolled] = await makeContacts(x.teamId, 5);
    await env.DB.batch([
      env.DB.prepare("UPDATE contacts SET unsubscribed_at = 1 WHERE id = ?").bind(u),
      env.DB.prepare("UPDATE contacts SET bounced_at = 1 WHERE id = ?").bind(b),
      env.DB.prepare("UPDATE contacts SET stage_id = ? WHERE id = ?").bind(`${x.teamId}-dnc`, d),
      env.DB.prepare(
        "INSERT INTO suppressions (id, team_id, email, reason, created_at) SELECT 'sup-' || id, team_id, lower(email), 'manual', 1 FROM contacts WHERE id = ?",
      ).bind(sup),
    ]);
    const first = await ok(commit(x.s, x.sequenceId, { source: { contact_ids: [enrolled!] } }), 202);
    await waitForJob(first.job.id);
    const p = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: [u!, b!, d!, sup!, enrolled!] } }));
    const reasons = Object.fromEntries(p.contacts.map((c) => [c.contact_id, c.reasons]));
    expect(reasons[u!]).toEqual(["unsubscribed"]);
    expect(reasons[b!]).toEqual(["bounced"]);
    expect(reasons[d!]).toEqual(["do_not_contact"]);
    expect(reasons[sup!]).toEqual(["suppressed"]);
    expect(reasons[enrolled!]).toEqual(["already_in_sequence"]);
    expect(p.totals).toMatchObject({ skipped: 5, enrolled: 0 });
    // skip_validation does not lift skips
    const q = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: [u!, b!, d!, sup!, enrolled!] }, skip_validation: true }));
    expect(q.totals.enrolled).toBe(0);
  });

  it("holds back warned contacts unless their category is overridden or validation is skipped", async () => {
    const x = await addContactsSetup();
    const [unverified, noEmail, jobChange, foreign, clean] = await makeContacts(x.teamId, 5);
    await env.DB.batch([
      env.DB.prepare("UPDATE contacts SET email_status = 'unverified' WHERE id = ?").bind(unverified),
      env.DB.prepare("UPDATE contacts SET email = NULL, email_status = 'unavailable' WHERE id = ?").bind(noEmail),
      env.DB.prepare("UPDATE contacts SET job_changed_at = 1 WHERE id = ?").bind(jobChange),
      env.DB.prepare("UPDATE contacts SET owner_id = 'someone-else' WHERE id = ?").bind(foreign),
    ]);
    const ids = [unverified!, noEmail!, jobChange!, foreign!, clean!];
    const p = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: ids } }));
    // a teammate's contact is not held back while the sequence allows teammates' contacts
    expect(p.totals).toMatchObject({ enrolled: 2, warned: 3, skipped: 0 });
    expect(p.warnings.map((w) => [w.category, w.count, w.held_back])).toEqual([
      ["unverified_email", 1, 1],
      ["no_email", 1, 1],
      ["job_change", 1, 1],
    ]);
    const o = await ok(
      preview(x.s, x.sequenceId, { source: { contact_ids: ids }, overrides: { unverified_email: true, job_change: true } }),
    );
    expect(o.totals).toMatchObject({ enrolled: 4, warned: 1 });
    const all = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: ids }, skip_validation: true }));
    expect(all.totals).toMatchObject({ enrolled: 5, warned: 0 });
    // ownership setting turns "owned by another user" into a skip
    await env.DB.prepare("UPDATE sequences SET settings = '{\"allow_other_owners\":false}' WHERE id = ?").bind(x.sequenceId).run();
    const strict = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: [foreign!] }, skip_validation: true }));
    expect(strict.contacts[0]).toMatchObject({ outcome: "skipped", reasons: ["ownership_not_permitted"] });
  });

  it("warns about contacts active or finished in other sequences", async () => {
    const x = await addContactsSetup();
    const [a, f] = await makeContacts(x.teamId, 2);
    const otherSeq = (await env.DB.prepare(
      "INSERT INTO sequences (id, team_id, owner_id, name, active, created_at, updated_at) VALUES (?, ?, ?, 'Other', 1, 0, 0) RETURNING id",
    )
      .bind(crypto.randomUUID(), x.teamId, x.userId)
      .first<{ id: string }>())!.id;
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO enrollments (id, team_id, sequence_id, contact_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'active', 0, 0)",
      ).bind(crypto.randomUUID(), x.teamId, otherSeq, a),
      env.DB.prepare(
        "INSERT INTO enrollments (id, team_id, sequence_id, contact_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'finished', 0, 0)",
      ).bind(crypto.randomUUID(), x.teamId, otherSeq, f),
    ]);
    const p = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: [a!, f!] } }));
    const r = Object.fromEntries(p.contacts.map((c) => [c.contact_id, c.reasons]));
    expect(r[a!]).toEqual(["active_in_other_sequence"]);
    expect(r[f!]).toEqual(["finished_in_other_sequence"]);
  });

  it("holds back a contact who replied to this sequence before (their run finished 'replied'), unless overridden", async () => {
    const x = await addContactsSetup();
    const [replied, completed] = await makeContacts(x.teamId, 2);
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO enrollments (id, team_id, sequence_id, contact_id, status, reason, created_at, updated_at) VALUES (?, ?, ?, ?, 'finished', 'replied', 0, 0)",
      ).bind(crypto.randomUUID(), x.teamId, x.sequenceId, replied),
      env.DB.prepare(
        "INSERT INTO enrollments (id, team_id, sequence_id, contact_id, status, reason, created_at, updated_at) VALUES (?, ?, ?, ?, 'finished', 'completed_all_steps', 0, 0)",
      ).bind(crypto.randomUUID(), x.teamId, x.sequenceId, completed),
    ]);
    const p = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: [replied!, completed!] } }));
    const r = Object.fromEntries(p.contacts.map((c) => [c.contact_id, [c.outcome, c.reasons]]));
    expect(r[replied!]).toEqual(["warned", ["replied_in_sequence"]]);
    expect(r[completed!]).toEqual(["enrolled", []]);
    expect(p.warnings).toMatchObject([
      { category: "replied_in_sequence", label: "Replied to this sequence before", count: 1, held_back: 1 },
    ]);
    // A commit adds only the other; with the override, both.
    const job = await ok(commit(x.s, x.sequenceId, { source: { contact_ids: [replied!, completed!] } }), 202);
    expect(await waitForJob(job.job.id)).toMatchObject({ enrolled: 1, warned: 1 });
    const again = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: [replied!] }, overrides: { replied_in_sequence: true } }));
    expect(again.contacts[0]).toMatchObject({ outcome: "enrolled", reasons: ["replied_in_sequence"] });
  });
});

describe("add contacts: preconditions (nothing written or charged)", () => {
  it("refuses an inactive sequence, a disconnected mailbox, all steps off and a short balance, each with a fix", async () => {
    const x = await addContactsSetup({ credits: 2 });
    const ids = await people("verified", 5, 100);
    const before = await count("SELECT count(*) n FROM credit_ledger WHERE team_id = ?", x.teamId);

    const credits = await errorOf(await commit(x.s, x.sequenceId, { source: { people_ids: ids } }));
    expect(credits).toMatchObject({ status: 422, code: "insufficient_credits" });
    expect(credits.details).toMatchObject({ balance: 2, maximum: 5, fits: 2 });
    expect(detailsOf(credits).fix).toMatch(/at most 2/);

    await env.DB.prepare("UPDATE mailboxes SET status = 'disconnected' WHERE id = ?").bind(x.mailboxIds[0]).run();
    const mb = await errorOf(await commit(x.s, x.sequenceId, { source: { people_ids: ids.slice(0, 1) }, mailbox_ids: x.mailboxIds }));
    expect(mb.code).toBe("mailbox_not_connected");
    const none = await errorOf(await commit(x.s, x.sequenceId, { source: { people_ids: ids.slice(0, 1) } }));
    expect(none.code).toBe("no_connected_mailbox");
    await env.DB.prepare("UPDATE mailboxes SET status = 'connected' WHERE id = ?").bind(x.mailboxIds[0]).run();

    await env.DB.prepare("UPDATE sequences SET active = 0 WHERE id = ?").bind(x.sequenceId).run();
    const inactive = await errorOf(await commit(x.s, x.sequenceId, { source: { people_ids: ids.slice(0, 1) } }));
    expect(inactive).toMatchObject({ code: "sequence_inactive", message: "This sequence is inactive" });
    expect(detailsOf(inactive).fix).toMatch(/Turn the sequence on/);
    await env.DB.prepare("UPDATE sequences SET active = 1 WHERE id = ?").bind(x.sequenceId).run();

    await env.DB.prepare("UPDATE steps SET enabled = 0 WHERE sequence_id = ?").bind(x.sequenceId).run();
    expect((await errorOf(await commit(x.s, x.sequenceId, { source: { people_ids: ids.slice(0, 1) } }))).code).toBe("no_enabled_steps");

    expect(await count("SELECT count(*) n FROM jobs WHERE team_id = ?", x.teamId)).toBe(0);
    expect(await count("SELECT count(*) n FROM credit_ledger WHERE team_id = ?", x.teamId)).toBe(before);
    expect(await count("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(2);
  });

  it("a view-only user gets 403 and another team's sequence or list 404", async () => {
    const viewer = await login("rep2@demo.test");
    const seq1 = (await env.DB.prepare("SELECT id FROM sequences WHERE name = 'Enterprise outbound — Q4'").first<{ id: string }>())!.id;
    expect((await errorOf(await preview(viewer, seq1, { source: { contact_ids: ["x"] } }))).status).toBe(403);
    const rival = await login("admin@rival.test");
    expect((await preview(rival, seq1, { source: { contact_ids: ["x"] } })).status).toBe(404);
    const demoList = (await env.DB.prepare(
      "SELECT l.id FROM lists l JOIN teams t ON t.id = l.team_id WHERE t.name = 'Demo' LIMIT 1",
    ).first<{ id: string }>())!.id;
    const rivalSeq = (await env.DB.prepare("SELECT id FROM sequences WHERE name = 'Rival intro'").first<{ id: string }>())!.id;
    expect(await errorOf(await preview(rival, rivalSeq, { source: { list_ids: [demoList] } }))).toMatchObject({
      status: 404,
      code: "not_found",
    });
  });

  it("names the invalid field when the source is empty", async () => {
    const x = await addContactsSetup();
    const err = await errorOf(await preview(x.s, x.sequenceId, { source: {} }));
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(err)[0]!.field).toBe("source");
  });

  it("refuses fields it doesn't know, naming them, instead of running another add than the one asked for", async () => {
    const x = await addContactsSetup();
    const [c] = await makeContacts(x.teamId, 1);
    // As a client that doesn't know the shape sends them (the typed client refuses to compile these).
    type Body = Parameters<typeof commit>[2];
    const misplaced: [Body, string, string][] = [
      [{ source: { contact_ids: [c!] }, options: { enrich: true } } as Body, "(body)", "options"],
      [{ source: { contact_ids: [c!], list: ["l1"] } } as Body, "source", "list"],
      [{ source: { contact_ids: [c!] }, overrides: { unverified: true } } as Body, "overrides", "unverified"],
    ];
    for (const [body, field, key] of misplaced)
      for (const send of [preview, commit]) {
        const err = await errorOf(await send(x.s, x.sequenceId, body));
        expect(err).toMatchObject({ status: 422, code: "validation_failed" });
        expect(fieldsOf(err)).toEqual([
          expect.objectContaining({ field, message: expect.stringContaining(`fields we don't know: ${key}`) }),
        ]);
      }
    // Nothing was started or charged by the refused commits.
    expect(await count("SELECT count(*) n FROM jobs WHERE sequence_id = ?", x.sequenceId)).toBe(0);
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(0);
  });
});

describe("add contacts: jobs", () => {
  it("adds a list: enrolls, charges net-new verified people once, refunds the unused hold, records every outcome", async () => {
    const x = await addContactsSetup();
    const saved = await makeContacts(x.teamId, 20);
    const list = await makeList(x.teamId, x.userId, saved);
    const fresh = await people("verified", 4, 200);
    const { job } = await ok(commit(x.s, x.sequenceId, { source: { list_ids: [list], people_ids: fresh } }), 202);
    expect(job).toMatchObject({ total: 24, credits_held: 4 });
    const done = await waitForJob(job.id);
    expect(done).toMatchObject({ status: "completed", processed: 24, enrolled: 24, warned: 0, skipped: 0, credits_used: 4 });
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(24);
    expect(await count("SELECT count(*) n FROM contacts WHERE team_id = ? AND source = 'add_contacts'", x.teamId)).toBe(4);
    expect(await count("SELECT count(*) n FROM job_outcomes WHERE job_id = ?", job.id)).toBe(24);
    expect(await count("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(996);
    const ledger = await env.DB.prepare(
      "SELECT kind, amount, balance_after FROM credit_ledger WHERE team_id = ? ORDER BY created_at, rowid",
    )
      .bind(x.teamId)
      .all<Pick<RawRow<typeof creditLedger>, "kind" | "amount" | "balance_after">>();
    expect(ledger.results).toEqual([
      { kind: "hold", amount: -4, balance_after: 996 },
      { kind: "refund", amount: 0, balance_after: 996 },
    ]);
    const view = await ok(client(x.s).api.jobs[":id"].$get({ param: { id: job.id } }));
    expect(view.job.status).toBe("completed");
  });

  it("returns the unused part of the hold when contacts turn out to cost less", async () => {
    const x = await addContactsSetup();
    const ids = await people("verified", 3, 300);
    const { job } = await ok(commit(x.s, x.sequenceId, { source: { people_ids: ids } }), 202);
    // Before the chunk runs, one person is saved by someone else: no longer net-new, no charge.
    await waitForJob(job.id);
    const bal = await count("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId);
    expect(bal).toBe(1000 - 3);
    // A second add of the same people: they're saved contacts now and already in the sequence.
    const again = await ok(commit(x.s, x.sequenceId, { source: { people_ids: ids } }), 202);
    const d2 = await waitForJob(again.job.id);
    expect(d2).toMatchObject({ credits_held: 0, credits_used: 0, skipped: 3 });
    expect(await count("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(997);
  });

  it("a redelivered chunk neither enrolls nor charges twice", async () => {
    const x = await addContactsSetup();
    const ids = await people("verified", 6, 400);
    const { job } = await ok(commit(x.s, x.sequenceId, { source: { people_ids: ids } }), 202);
    await Promise.all([processChunk(env, job.id, 0, 6), processChunk(env, job.id, 0, 6)]);
    await waitForJob(job.id);
    await processChunk(env, job.id, 0, 6);
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(6);
    expect(await count("SELECT count(*) n FROM job_outcomes WHERE job_id = ?", job.id)).toBe(6);
    expect(await count("SELECT count(*) n FROM contacts WHERE team_id = ?", x.teamId)).toBe(6);
    expect(await count("SELECT credits_used n FROM jobs WHERE id = ?", job.id)).toBe(6);
    expect(await count("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(994);
    expect(await count("SELECT count(*) n FROM credit_ledger WHERE team_id = ? AND kind = 'hold'", x.teamId)).toBe(1);
  });

  it("an Idempotency-Key returns the same job; the same key with another body is refused", async () => {
    const x = await addContactsSetup();
    const ids = await makeContacts(x.teamId, 3);
    const key = `k-${crypto.randomUUID()}`;
    // Raw requests on purpose: the replay is about the exact Idempotency-Key header and the answer's replay header.
    const commitWithKey = (body: unknown) =>
      as(x.s, "POST", `/api/sequences/${x.sequenceId}/add-contacts`, body, { "idempotency-key": key });
    const a = await commitWithKey({ source: { contact_ids: ids } });
    const b = await commitWithKey({ source: { contact_ids: ids } });
    expect(a.status).toBe(202);
    expect(b.status).toBe(202); // the same answer again
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    const jobOf = async (r: Response) => ((await r.json()) as { job: { id: string } }).job.id;
    expect(await jobOf(b)).toBe(await jobOf(a));
    const c = await errorOf(await commitWithKey({ source: { contact_ids: ids.slice(0, 1) } }));
    expect(c).toMatchObject({ status: 422, code: "idempotency_key_reused" });
    expect(await count("SELECT count(*) n FROM jobs WHERE team_id = ?", x.teamId)).toBe(1);
  });

  it("rotates over mailboxes by remaining capacity, and the assignment sticks", async () => {
    // A Saturday, outside the schedule's weekday window: nothing is sent while the last preview counts the
    // load still pending (on a weekday afternoon the mailbox sent the first email before it looked).
    setClock(Date.UTC(2027, 2, 6, 17));
    const x = await addContactsSetup({ mailboxes: [{ daily: 30 }, { daily: 10 }] });
    const ids = await makeContacts(x.teamId, 20);
    const p = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: ids } }));
    const by = Object.fromEntries(p.mailboxes.map((m) => [m.mailbox_id, m.assigned]));
    // 30 vs 10 remaining: the first 20 new contacts all go to the larger mailbox while it has more room
    expect(by[x.mailboxIds[0]!]).toBe(20);
    expect(by[x.mailboxIds[1]!]).toBe(0);
    const more = await makeContacts(x.teamId, 20);
    const p2 = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: [...ids, ...more] } }));
    const by2 = Object.fromEntries(p2.mailboxes.map((m) => [m.mailbox_id, m.assigned]));
    expect(by2[x.mailboxIds[0]!]).toBe(30); // 20 while it had more room, then alternating 10 and 10
    expect(by2[x.mailboxIds[1]!]).toBe(10);
    const { job } = await ok(commit(x.s, x.sequenceId, { source: { contact_ids: ids } }), 202);
    await waitForJob(job.id);
    const rows = await env.DB.prepare("SELECT mailbox_id, count(*) n FROM enrollments WHERE sequence_id = ? GROUP BY mailbox_id")
      .bind(x.sequenceId)
      .all<{ mailbox_id: string | null; n: number }>();
    expect(rows.results).toEqual([{ mailbox_id: x.mailboxIds[0], n: 20 }]);
    // a later preview counts the load already assigned
    const p3 = await ok(preview(x.s, x.sequenceId, { source: { contact_ids: more } }));
    expect(p3.mailboxes.find((m) => m.mailbox_id === x.mailboxIds[0])!.pending).toBe(20);
  });

  it("schedules an add for later, can cancel it (hold returned), and the cron starts a due one", async () => {
    const x = await addContactsSetup();
    const ids = await people("verified", 2, 500);
    const later = Date.now() + 3_600_000;
    const { job } = await ok(commit(x.s, x.sequenceId, { source: { people_ids: ids }, add_at: later }), 202);
    expect(job).toMatchObject({ status: "scheduled", run_at: later, credits_held: 2 });
    expect(await count("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(998);
    const cancel = () => client(x.s).api.jobs[":id"].cancel.$post({ param: { id: job.id } });
    const cancelled = await ok(cancel());
    expect(cancelled.job.status).toBe("cancelled");
    expect(await count("SELECT credit_balance n FROM teams WHERE id = ?", x.teamId)).toBe(1000);
    expect((await cancel()).status).toBe(409);
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(0);

    const { job: j2 } = await ok(commit(x.s, x.sequenceId, { source: { people_ids: ids }, add_at: Date.now() + 1000 }), 202);
    setClock(Date.now() + 5000);
    const { startDueJobs } = await import("../../worker/services/add-contacts/jobs");
    await startDueJobs(env);
    resetClock();
    expect((await waitForJob(j2.id)).status).toBe("completed");
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(2);
  });

  it("enriches missing emails through the waterfall, charging the provider that found each", async () => {
    const x = await addContactsSetup();
    const noEmail = await people("unavailable", 30, 0);
    const p = await ok(preview(x.s, x.sequenceId, { source: { people_ids: noEmail }, enrich: true }, { per_page: 100 }));
    expect(p.totals.enriched).toBeGreaterThan(0);
    expect(p.credits.maximum).toBe(30 * 3); // 1 for saving + at most 2 for the dearest provider, each
    const { job } = await ok(
      commit(x.s, x.sequenceId, { source: { people_ids: noEmail }, enrich: true, overrides: { no_email: false } }),
      202,
    );
    const done = await waitForJob(job.id);
    expect(done.enrolled).toBe(p.totals.enriched);
    expect(done.credits_used).toBe(p.credits.exact);
    const report = await ok(client(x.s).api.credits.$get({ query: {} }));
    const pf = report.waterfall.find((w) => w.provider === "pattern_finder")!;
    expect(pf.attempts).toBe(30);
    expect(pf.successes).toBeGreaterThan(0);
    expect(report.balance).toBe(1000 - done.credits_used);
    const enriched = await env.DB.prepare("SELECT email, email_status FROM contacts WHERE team_id = ?")
      .bind(x.teamId)
      .all<Pick<RawRow<typeof contacts>, "email" | "email_status">>();
    expect(enriched.results.every((c) => c.email && c.email_status === "verified")).toBe(true);
  });

  it("skips a contact whose address the enrichment finds on the team's suppression list: not saved, not charged", async () => {
    const x = await addContactsSetup();
    // Without a job change (a recent one is a warning, and "recent" moves with the clock).
    const rows = (
      await env.DB.prepare(
        "SELECT id, first_name, last_name, domain, company FROM people WHERE email_status = 'unavailable' AND job_changed_at IS NULL ORDER BY id LIMIT 30",
      ).all<{ id: string; first_name: string; last_name: string; domain: string | null; company: string | null }>()
    ).results;
    const ids = rows.map((r) => r.id);
    // The built-in waterfall is deterministic: the addresses it will find, by person.
    const finds = new Map<string, string>();
    for (const r of rows) {
      const w = await runWaterfall(DEFAULT_WATERFALL, {
        firstName: r.first_name,
        lastName: r.last_name,
        domain: r.domain,
        company: r.company,
        key: r.id,
      });
      if (w.email) finds.set(r.id, w.email);
    }
    expect(finds.size).toBeGreaterThan(1);
    const [blocked, address] = [...finds][0]!;
    // The address opted out under another contact of the team.
    await env.DB.prepare(
      "INSERT INTO suppressions (id, team_id, email, reason, source, created_at) VALUES (?, ?, ?, 'unsubscribed', 'test', ?)",
    )
      .bind(newId(), x.teamId, address.toLowerCase(), Date.now())
      .run();

    const p = await ok(preview(x.s, x.sequenceId, { source: { people_ids: ids }, enrich: true }, { per_page: 100 }));
    const shown = p.contacts.find((c) => c.person_id === blocked)!;
    expect(shown).toMatchObject({ outcome: "skipped", reasons: ["suppressed"], credit_cost: 0 });
    expect(p.totals.enriched).toBe(finds.size - 1);
    expect(p.totals.reasons.suppressed).toBe(1);
    // At most 1 credit for saving and 2 for the dearest provider, for each person the waterfall may look up, but none for it.
    expect(p.credits.maximum).toBe((rows.filter((r) => r.domain).length - 1) * 3);

    const { job } = await ok(commit(x.s, x.sequenceId, { source: { people_ids: ids }, enrich: true, overrides: { no_email: false } }), 202);
    const done = await waitForJob(job.id);
    expect(done).toMatchObject({ status: "completed", enrolled: finds.size - 1, credits_used: p.credits.exact });
    const outcome = await env.DB.prepare("SELECT outcome, reasons, credit_cost FROM job_outcomes WHERE job_id = ? AND person_id = ?")
      .bind(job.id, blocked)
      .first<{ outcome: string; reasons: string; credit_cost: number }>();
    expect(outcome).toEqual({ outcome: "skipped", reasons: JSON.stringify(["suppressed"]), credit_cost: 0 });
    // Not saved as a contact (nor its address), and its lookup charged nothing.
    expect(await count("SELECT count(*) n FROM contacts WHERE team_id = ? AND person_id = ?", x.teamId, blocked)).toBe(0);
    expect(await count("SELECT count(*) n FROM enrichments WHERE job_id = ? AND email = ? AND cost > 0", job.id, address)).toBe(0);
    expect((await ok(client(x.s).api.credits.$get({ query: {} }))).balance).toBe(1000 - done.credits_used);
  });

  it("downloads outcomes as CSV with formula-looking cells neutralised", async () => {
    const x = await addContactsSetup();
    const [evil, sneaky] = await makeContacts(x.teamId, 2);
    await env.DB.prepare("UPDATE contacts SET first_name = '=HYPERLINK(\"http://x\")', unsubscribed_at = 1 WHERE id = ?").bind(evil).run();
    // Excel with ";" as its list separator (German, French) splits an unquoted cell at the ";".
    await env.DB.prepare("UPDATE contacts SET first_name = 'x;=cmd|'' /C calc''!A0', unsubscribed_at = 1 WHERE id = ?").bind(sneaky).run();
    const { job } = await ok(commit(x.s, x.sequenceId, { source: { contact_ids: [evil!, sneaky!] } }), 202);
    await waitForJob(job.id);
    const res = await client(x.s).api.jobs[":id"]["outcomes.csv"].$get({ param: { id: job.id } });
    expect(res.headers.get("content-type")).toMatch(/text\/csv/);
    const csv = await res.text();
    const [header, ...rows] = csv.trim().split("\r\n");
    expect(header).toBe("contact_id,person_id,name,email,outcome,reasons,reason_details,credit_cost,mailbox_id");
    const row = rows.find((r) => r.startsWith(evil!))!;
    expect(row).toContain(`"'=HYPERLINK(""http://x"") Last0"`);
    expect(row).toContain(",skipped,unsubscribed,Unsubscribed,0,");
    expect(rows.find((r) => r.startsWith(sneaky!))).toContain(`,"x;=cmd|' /C calc'!A0 Last1",`);
  });
});

describe("people search", () => {
  it("filters, sorts, paginates with totals and marks saved people", async () => {
    const s = await login("admin@demo.test");
    const res = await ok(
      client(s).api.people.search.$post({ json: { seniorities: ["vp", "director"], email_statuses: ["verified"], per_page: 10 } }),
    );
    const total = await count("SELECT count(*) n FROM people WHERE seniority IN ('vp','director') AND email_status = 'verified'");
    expect(res.pagination.total_entries).toBe(total);
    expect(res.people).toHaveLength(10);
    expect(res.people.every((p) => ["vp", "director"].includes(p.seniority) && p.email_status === "verified")).toBe(true);
    const scores = res.people.map((p) => p.score);
    expect(scores).toEqual([...scores].sort((a: number, b: number) => b - a));
    const saved = await ok(client(s).api.people.search.$post({ json: { saved: "saved", per_page: 5 } }));
    expect(saved.people.every((p) => p.contact_id)).toBe(true);
    const netNew = await ok(client(s).api.people.search.$post({ json: { saved: "net_new", email_statuses: ["verified"], per_page: 5 } }));
    expect(netNew.people.every((p) => p.contact_id === null)).toBe(true);
    // net-new addresses stay masked until saved; saved contacts show theirs
    expect(netNew.people.every((p) => /^.•••@/.test(p.email ?? ""))).toBe(true);
    expect(saved.people.filter((p) => p.email).every((p) => !p.email!.includes("•••"))).toBe(true);
  });

  it("finds people by keyword across name, title and company", async () => {
    const s = await login("admin@demo.test");
    const someone = (await env.DB.prepare("SELECT first_name, company FROM people ORDER BY id LIMIT 1 OFFSET 17").first<{
      first_name: string;
      company: string;
    }>())!;
    const res = await ok(
      client(s).api.people.search.$post({ json: { q: `${someone.first_name} ${someone.company.split(" ")[0]}`, per_page: 100 } }),
    );
    expect(res.people.length).toBeGreaterThan(0);
    expect(
      res.people.every((p) =>
        `${p.first_name} ${p.last_name} ${p.title} ${p.company} ${p.industry} ${p.city}`
          .toLowerCase()
          .includes(someone.first_name.toLowerCase()),
      ),
    ).toBe(true);
    // syntax in the query is just text
    expect((await client(s).api.people.search.$post({ json: { q: 'NEAR(" OR *' } })).status).toBe(200);
  });

  it("lists the filter values with counts (facets)", async () => {
    const s = await login("admin@demo.test");
    const f = await ok(client(s).api.people.facets.$get());
    const total = await count("SELECT count(*) n FROM people");
    for (const k of ["seniorities", "departments", "industries", "countries", "email_statuses"] as const) {
      expect(f[k].reduce((a, x) => a + x.count, 0)).toBe(total);
    }
    expect(f.email_statuses.map((x) => x.value).sort()).toEqual(["guessed", "unavailable", "unverified", "verified"]);
  });

  it("adds all results of a search", async () => {
    const x = await addContactsSetup({ credits: 100000 });
    const search = { countries: ["Japan"], seniorities: ["c_suite"] };
    const expected = await count("SELECT count(*) n FROM people WHERE country = 'Japan' AND seniority = 'c_suite'");
    const p = await ok(preview(x.s, x.sequenceId, { source: { search }, skip_validation: true }));
    expect(p.totals.candidates).toBe(expected);
  });
});

describe("who may cancel a job, as its screen shows it", () => {
  it("a viewer of the sequence sees a scheduled job without its Cancel (can_cancel false; cancelling answers 403), its owner with it", async () => {
    const x = await addContactsSetup();
    const ids = await makeContacts(x.teamId, 2);
    const { job } = await ok(
      client(x.s).api.sequences[":id"]["add-contacts"].$post({
        param: { id: x.sequenceId },
        header: {},
        json: { source: { contact_ids: ids }, add_at: Date.now() + 86_400_000 },
      }),
      202,
    );
    expect(job.can_cancel).toBe(true);
    const viewerId = await makeUser(x.teamId, "member", { sequenceId: x.sequenceId, access: "view" });
    const viewer = client(await sessionFor(x.teamId, viewerId)).api;
    expect((await ok(viewer.jobs[":id"].$get({ param: { id: job.id } }))).job.can_cancel).toBe(false);
    expect((await ok(viewer.jobs.$get({ query: { sequence_id: x.sequenceId } }))).jobs.map((j) => j.can_cancel)).toEqual([false]);
    expect((await viewer.jobs[":id"].cancel.$post({ param: { id: job.id } })).status).toBe(403);
    expect((await ok(client(x.s).api.jobs[":id"].$get({ param: { id: job.id } }))).job.can_cancel).toBe(true);
    expect((await ok(client(x.s).api.jobs.$get({ query: { sequence_id: x.sequenceId } }))).jobs.map((j) => j.can_cancel)).toEqual([true]);
  });
});
