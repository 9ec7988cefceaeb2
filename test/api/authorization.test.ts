import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { seedId } from "../../worker/seed/random";
import { RULES } from "../../worker/services/access";
import { DEMO } from "../fixtures";
import { as, call, env, errorOf, fieldsOf, login, withKey, type Session } from "../helpers";

// Who may do what (services/access.ts), tried as each caller: admin, members, a standard key.
const MB_ADMIN = seedId(0x06, 1);
const MB_REP1 = seedId(0x06, 2);
const SEQ_REP1 = seedId(0x0a, 2); // owned by rep1, shared with the admin for editing; rep2 can't see it
const SEEDED_SCHEDULE = seedId(0x05, 1);

let admin: Session, rep1: Session, rep2: Session;
beforeAll(async () => {
  [admin, rep1, rep2] = await Promise.all([login("admin@demo.test"), login("rep1@demo.test"), login("rep2@demo.test")]);
});

/** An answer's body, typed by the caller with the few fields it reads (the raw calls here walk many routes). */
const body = async <T>(res: Response) => (await res.json()) as T;
interface Id {
  id: string;
}
type Items<K extends string, T = Id> = Record<K, T[]>;

async function newSequence(s: Session, shares: { user_id: string; access: "view" | "edit" }[] = []) {
  const res = await as(s, "POST", "/api/sequences", { name: `Auth ${newId()}` });
  expect(res.status).toBe(201);
  const id = (await body<{ sequence: Id }>(res)).sequence.id;
  if (shares.length) expect((await as(s, "PUT", `/api/sequences/${id}/shares`, { shares })).status).toBe(200);
  return id;
}

const ownerOf = async (sequenceId: string) =>
  (await env.DB.prepare("SELECT owner_id FROM sequences WHERE id = ?").bind(sequenceId).first<{ owner_id: string }>())!.owner_id;

describe("idempotent replays never act with someone else's rights", () => {
  it("a member replaying an admin's API-key creation gets a 403, and nobody ever sees the key twice", async () => {
    const key = `k-${newId()}`;
    const req = { name: "CI key", kind: "master" };
    const first = await as(admin, "POST", "/api/api-keys", req, { "idempotency-key": key });
    expect(first.status).toBe(201);
    const created = await body<{ key: string }>(first);
    expect(created.key).toMatch(/^sf_m_/);

    const byMember = await as(rep1, "POST", "/api/api-keys", req, { "idempotency-key": key });
    expect(await errorOf(byMember)).toMatchObject({ status: 403, code: "forbidden" });
    expect(byMember.headers.get("idempotent-replayed")).toBeNull();

    const byStandardKey = await keyPost(DEMO.standardKey, "/api/api-keys", req, key);
    expect(byStandardKey.status).toBe(403);

    // The admin's own replay: a conflict that says why, without the key.
    const again = await as(admin, "POST", "/api/api-keys", req, { "idempotency-key": key });
    const text = await again.text();
    expect(again.status).toBe(409);
    expect(text).not.toContain(created.key);
    const stored = await env.DB.prepare("SELECT body FROM idempotency_keys WHERE key = ?").bind(key).all<{ body: string | null }>();
    expect(stored.results).toEqual([{ body: null }]);
    // Exactly one key was created.
    const n = await env.DB.prepare("SELECT count(*) AS n FROM api_keys WHERE name = 'CI key'").first<{ n: number }>();
    expect(n!.n).toBe(1);
  });

  it("a member can't replay an admin's request on a sequence it can't see", async () => {
    const seq = await newSequence(admin);
    const key = `k-${newId()}`;
    expect((await as(admin, "POST", `/api/sequences/${seq}/clone`, { name: "Copy A" }, { "idempotency-key": key })).status).toBe(201);
    const res = await as(rep2, "POST", `/api/sequences/${seq}/clone`, { name: "Copy A" }, { "idempotency-key": key });
    expect(await errorOf(res)).toMatchObject({ status: 404, code: "not_found" });
    const copies = await env.DB.prepare("SELECT owner_id FROM sequences WHERE name = 'Copy A'").all<{ owner_id: string }>();
    expect(copies.results).toEqual([{ owner_id: DEMO.admin }]);
  });

  it("a replay re-checks the caller's rights now: a viewer who lost access gets 404, not the stored answer", async () => {
    const seq = await newSequence(admin, [{ user_id: DEMO.rep2, access: "view" }]);
    const key = `k-${newId()}`;
    const first = await as(rep2, "POST", `/api/sequences/${seq}/clone`, { name: "Copy B" }, { "idempotency-key": key });
    expect(first.status).toBe(201);
    const replay = await as(rep2, "POST", `/api/sequences/${seq}/clone`, { name: "Copy B" }, { "idempotency-key": key });
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect((await as(admin, "PUT", `/api/sequences/${seq}/shares`, { shares: [] })).status).toBe(200);
    const after = await as(rep2, "POST", `/api/sequences/${seq}/clone`, { name: "Copy B" }, { "idempotency-key": key });
    expect(await errorOf(after)).toMatchObject({ status: 404, code: "not_found" });
  });
  it("a replay re-checks a list as a list (it is checked with contact.edit)", async () => {
    const list = await body<{ list: Id }>(await as(rep1, "POST", "/api/lists", { name: `Replay ${newId()}` }));
    const key = `k-${newId()}`;
    const send = () =>
      as(rep1, "POST", `/api/lists/${list.list.id}/members/remove`, { contact_ids: ["nobody"] }, { "idempotency-key": key });
    expect((await send()).status).toBe(200);
    const again = await send();
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
  });

  it("two callers sending the same Idempotency-Key to add contacts each get their own job", async () => {
    const contacts = (
      await env.DB.prepare("SELECT id FROM contacts WHERE team_id = ? AND owner_id = ? AND deleted_at IS NULL LIMIT 2 OFFSET 20")
        .bind(DEMO.team, DEMO.rep1)
        .all<{ id: string }>()
    ).results;
    const key = `k-${newId()}`;
    const a = await as(
      admin,
      "POST",
      `/api/sequences/${SEQ_REP1}/add-contacts`,
      { source: { contact_ids: [contacts[0]!.id] }, mailbox_ids: [MB_ADMIN], skip_validation: true },
      { "idempotency-key": key },
    );
    expect(a.status).toBe(202);
    const b = await as(
      rep1,
      "POST",
      `/api/sequences/${SEQ_REP1}/add-contacts`,
      { source: { contact_ids: [contacts[1]!.id] }, mailbox_ids: [MB_REP1], skip_validation: true },
      { "idempotency-key": key },
    );
    expect(b.status).toBe(202);
    const [ja, jb] = [(await body<{ job: Id }>(a)).job, (await body<{ job: Id }>(b)).job];
    expect(jb.id).not.toBe(ja.id);
    const owners = await env.DB.prepare("SELECT id, user_id FROM jobs WHERE id IN (?, ?) ORDER BY user_id")
      .bind(ja.id, jb.id)
      .all<{ id: string; user_id: string }>();
    expect(owners.results.map((r) => r.user_id).sort()).toEqual([DEMO.admin, DEMO.rep1].sort());
  });
});

/** A POST with an API key and an Idempotency-Key, as an integration sends it. */
function keyPost(apiKey: string, path: string, json: unknown, idempotencyKey: string) {
  return call(path, {
    method: "POST",
    headers: { "x-api-key": apiKey, "content-type": "application/json", "idempotency-key": idempotencyKey },
    body: JSON.stringify(json),
  });
}

describe("roles: who may change what", () => {
  it("an editor can't make itself the owner; the owner or an admin can give a sequence away", async () => {
    const seq = await newSequence(admin, [{ user_id: DEMO.rep1, access: "edit" }]);
    expect(await errorOf(await as(rep1, "PATCH", `/api/sequences/${seq}`, { owner_id: DEMO.rep1 }))).toMatchObject({
      status: 403,
      code: "forbidden",
    });
    expect(await errorOf(await as(rep1, "PUT", `/api/sequences/${seq}/shares`, { shares: [] }))).toMatchObject({ status: 403 });
    expect(await errorOf(await as(rep1, "POST", `/api/sequences/${seq}/archive`))).toMatchObject({ status: 403 });
    expect(await ownerOf(seq)).toBe(DEMO.admin);
    // Editing itself is still fine for the editor.
    expect((await as(rep1, "PATCH", `/api/sequences/${seq}`, { name: "Renamed by editor" })).status).toBe(200);
    expect((await as(admin, "PATCH", `/api/sequences/${seq}`, { owner_id: DEMO.rep1 })).status).toBe(200);
    expect(await ownerOf(seq)).toBe(DEMO.rep1);
  });

  it("an owner who hands a sequence over keeps edit access instead of losing it mid-request", async () => {
    const seq = await newSequence(rep1, [{ user_id: DEMO.rep2, access: "view" }]);
    const res = await as(rep1, "PATCH", `/api/sequences/${seq}`, { owner_id: DEMO.rep2 });
    expect(res.status).toBe(200);
    const after = (await body<{ sequence: { shares: { user_id: string; access: string }[] } }>(res)).sequence;
    expect(after).toMatchObject({ owner_id: DEMO.rep2, access: "edit" });
    expect(after.shares.map((x) => [x.user_id, x.access])).toEqual([[DEMO.rep1, "edit"]]);
    expect((await as(rep2, "GET", `/api/sequences/${seq}`)).status).toBe(200);
    expect(await ownerOf(seq)).toBe(DEMO.rep2);
  });

  it("a standard key acts as a member: no shares, mailboxes or workflows of its creator (an admin)", async () => {
    const seq = await newSequence(admin, [{ user_id: DEMO.rep1, access: "view" }]);
    const k = (m: string, p: string, b?: unknown) => withKey(DEMO.standardKey, m, p, b);
    expect(await errorOf(await k("PUT", `/api/sequences/${seq}/shares`, { shares: [] }))).toMatchObject({ status: 403, code: "forbidden" });
    expect(await errorOf(await k("PATCH", `/api/sequences/${seq}`, { owner_id: DEMO.rep2 }))).toMatchObject({ status: 403 });
    expect(
      (await env.DB.prepare("SELECT count(*) AS n FROM sequence_shares WHERE sequence_id = ?").bind(seq).first<{ n: number }>())!.n,
    ).toBe(1);
    expect(await errorOf(await k("PATCH", `/api/mailboxes/${MB_ADMIN}`, { sender_name: "Hijacked" }))).toMatchObject({ status: 403 });
    expect(await errorOf(await k("POST", `/api/mailboxes/${MB_ADMIN}/disconnect`))).toMatchObject({ status: 403 });
    const mb = await env.DB.prepare("SELECT sender_name, status FROM mailboxes WHERE id = ?")
      .bind(MB_ADMIN)
      .first<{ sender_name: string; status: string }>();
    expect(mb).toEqual({ sender_name: "Alex Morgan", status: "connected" });
    const wf = await as(admin, "POST", "/api/workflows", {
      name: `WF ${newId()}`,
      sequence_id: SEQ_REP1,
      filters: { titles: ["CTO"] },
      active: false,
    });
    expect(wf.status).toBe(201);
    const wfId = (await body<{ workflow: Id }>(wf)).workflow.id;
    expect(await errorOf(await k("PATCH", `/api/workflows/${wfId}`, { name: "Hijacked" }))).toMatchObject({ status: 403 });
    expect(await errorOf(await k("DELETE", `/api/workflows/${wfId}`))).toMatchObject({ status: 403 });
    expect((await env.DB.prepare("SELECT name FROM workflows WHERE id = ?").bind(wfId).first<{ name: string }>())!.name).not.toBe(
      "Hijacked",
    );
    // What a member may do, the key may do: read, create a sequence.
    expect((await k("GET", `/api/sequences/${seq}`)).status).toBe(200);
    expect((await k("POST", "/api/sequences", { name: `Key-made ${newId()}` })).status).toBe(201);
  });

  it("team schedules: members create their own and change only those; admins change any", async () => {
    expect(await errorOf(await as(rep1, "PATCH", `/api/schedules/${SEEDED_SCHEDULE}`, { name: "Mine now" }))).toMatchObject({
      status: 403,
      code: "forbidden",
    });
    expect(await errorOf(await as(rep1, "DELETE", `/api/schedules/${SEEDED_SCHEDULE}`))).toMatchObject({ status: 403 });
    expect(
      (await env.DB.prepare("SELECT name FROM schedules WHERE id = ?").bind(SEEDED_SCHEDULE).first<{ name: string }>())!.name,
    ).not.toBe("Mine now");
    const created = await as(rep1, "POST", "/api/schedules", {
      name: `Riley hours ${newId()}`,
      time_zone: "Europe/Berlin",
      windows: { "1": [["09:00", "17:00"]] },
    });
    expect(created.status).toBe(201);
    const sched = (await body<{ schedule: Id & { can_edit: boolean } }>(created)).schedule;
    expect(sched.can_edit).toBe(true);
    expect((await as(rep1, "PATCH", `/api/schedules/${sched.id}`, { time_zone: "Europe/Paris" })).status).toBe(200);
    expect(await errorOf(await as(rep2, "PATCH", `/api/schedules/${sched.id}`, { time_zone: "UTC" }))).toMatchObject({ status: 403 });
    expect((await as(admin, "PATCH", `/api/schedules/${sched.id}`, { time_zone: "Europe/Madrid" })).status).toBe(200);
    const list = await body<Items<"schedules", Id & { can_edit: boolean }>>(await as(rep2, "GET", "/api/schedules"));
    expect(list.schedules.find((s) => s.id === sched.id)!.can_edit).toBe(false);
  });

  it("the team's default schedule (it times everyone's sequences without one) is set, changed and deleted by admins only", async () => {
    const isDefault = async (id: string) =>
      (await env.DB.prepare("SELECT is_default FROM schedules WHERE id = ?").bind(id).first<{ is_default: number }>())!.is_default;
    const fields = { time_zone: "UTC", windows: { "7": [["03:00", "04:00"]] } };
    const refused = await as(rep1, "POST", "/api/schedules", { ...fields, name: `Night ${newId()}`, is_default: true });
    expect(await errorOf(refused)).toMatchObject({ status: 403, code: "forbidden" });
    expect(await isDefault(SEEDED_SCHEDULE)).toBe(1);
    const created = await as(rep1, "POST", "/api/schedules", { ...fields, name: `Night ${newId()}` });
    expect(created.status).toBe(201);
    const own = (await body<{ schedule: Id }>(created)).schedule;
    expect(await errorOf(await as(rep1, "PATCH", `/api/schedules/${own.id}`, { is_default: true }))).toMatchObject({ status: 403 });
    expect(await isDefault(SEEDED_SCHEDULE)).toBe(1);
    // An admin makes the member's schedule the default: its creator can no longer change or delete it.
    expect((await as(admin, "PATCH", `/api/schedules/${own.id}`, { is_default: true })).status).toBe(200);
    try {
      expect(await errorOf(await as(rep1, "PATCH", `/api/schedules/${own.id}`, { windows: { "1": [["00:00", "23:59"]] } }))).toMatchObject({
        status: 403,
      });
      expect(await errorOf(await as(rep1, "DELETE", `/api/schedules/${own.id}`))).toMatchObject({ status: 403 });
      const listed = await body<Items<"schedules", Id & { can_edit: boolean }>>(await as(rep1, "GET", "/api/schedules"));
      expect(listed.schedules.find((x) => x.id === own.id)!.can_edit).toBe(false);
      expect(await isDefault(own.id)).toBe(1);
    } finally {
      expect((await as(admin, "PATCH", `/api/schedules/${SEEDED_SCHEDULE}`, { is_default: true })).status).toBe(200);
    }
  });

  it("a member can't send from another user's mailbox; their own is fine", async () => {
    const seq = await newSequence(rep1);
    expect(
      (
        await as(rep1, "POST", `/api/sequences/${seq}/steps`, {
          type: "auto_email",
          variants: [{ subject: "Hi {{first_name}}", body: "Hello" }],
        })
      ).status,
    ).toBe(201);
    const contact = await env.DB.prepare("SELECT id FROM contacts WHERE team_id = ? AND owner_id = ? LIMIT 1")
      .bind(DEMO.team, DEMO.rep1)
      .first<{ id: string }>();
    const theirs = await as(rep1, "POST", `/api/sequences/${seq}/add-contacts/preview`, {
      source: { contact_ids: [contact!.id] },
      mailbox_ids: [MB_ADMIN],
    });
    expect(await errorOf(theirs)).toMatchObject({ status: 403, code: "forbidden" });
    const own = await as(rep1, "POST", `/api/sequences/${seq}/add-contacts/preview`, {
      source: { contact_ids: [contact!.id] },
      mailbox_ids: [MB_REP1],
    });
    expect(own.status).toBe(200);
    // Without a choice, the member's default rotation is their own mailboxes only.
    const auto = await body<Items<"mailboxes", { mailbox_id: string }>>(
      await as(rep1, "POST", `/api/sequences/${seq}/add-contacts/preview`, { source: { contact_ids: [contact!.id] } }),
    );
    expect(auto.mailboxes.map((m) => m.mailbox_id)).toEqual([MB_REP1]);
    // The screens learn which mailboxes they may offer.
    type Mailboxes = Items<"mailboxes", Id & { can_send: boolean }>;
    const listed = await body<Mailboxes>(await as(rep1, "GET", "/api/mailboxes"));
    expect(listed.mailboxes.filter((m) => m.can_send).map((m) => m.id)).toEqual([MB_REP1]);
    expect((await body<Mailboxes>(await as(admin, "GET", "/api/mailboxes"))).mailboxes.every((m) => m.can_send)).toBe(true);
  });

  it("only a contact's owner or an admin gives it to someone else", async () => {
    const theirs = await env.DB.prepare("SELECT id FROM contacts WHERE team_id = ? AND owner_id = ? AND deleted_at IS NULL LIMIT 1")
      .bind(DEMO.team, DEMO.rep2)
      .first<{ id: string }>();
    expect(await errorOf(await as(rep1, "PATCH", `/api/contacts/${theirs!.id}`, { owner_id: DEMO.rep1 }))).toMatchObject({
      status: 403,
      code: "forbidden",
    });
    expect(await errorOf(await withKey(DEMO.standardKey, "PATCH", `/api/contacts/${theirs!.id}`, { owner_id: DEMO.admin }))).toMatchObject({
      status: 403,
    });
    expect(
      (await env.DB.prepare("SELECT owner_id FROM contacts WHERE id = ?").bind(theirs!.id).first<{ owner_id: string }>())!.owner_id,
    ).toBe(DEMO.rep2);
    // Other fields are shared team data: a member may fix a title.
    expect((await as(rep1, "PATCH", `/api/contacts/${theirs!.id}`, { title: "VP of Sales" })).status).toBe(200);
    const mine = await env.DB.prepare("SELECT id FROM contacts WHERE team_id = ? AND owner_id = ? AND deleted_at IS NULL LIMIT 1")
      .bind(DEMO.team, DEMO.rep1)
      .first<{ id: string }>();
    expect((await as(rep1, "PATCH", `/api/contacts/${mine!.id}`, { owner_id: DEMO.rep2 })).status).toBe(200);
    expect((await as(admin, "PATCH", `/api/contacts/${mine!.id}`, { owner_id: DEMO.rep1 })).status).toBe(200);
  });
});

describe("reads follow the sequence's visibility", () => {
  it("a member sees no job, outcome, email, raw message or workflow of a sequence it can't see", async () => {
    // The admin adds a contact to rep1's sequence (shared with the admin); rep2 can't see that sequence.
    const contact = await env.DB.prepare(
      "SELECT id FROM contacts WHERE team_id = ? AND owner_id = ? AND unsubscribed_at IS NULL AND bounced_at IS NULL AND email IS NOT NULL LIMIT 1 OFFSET 7",
    )
      .bind(DEMO.team, DEMO.rep1)
      .first<{ id: string }>();
    const job = await body<{ job: Id }>(
      await as(admin, "POST", `/api/sequences/${SEQ_REP1}/add-contacts`, {
        source: { contact_ids: [contact!.id] },
        mailbox_ids: [MB_ADMIN],
        skip_validation: true,
      }),
    );
    const jobId = job.job.id;
    expect((await as(admin, "GET", `/api/jobs/${jobId}`)).status).toBe(200);
    for (const path of [`/api/jobs/${jobId}`, `/api/jobs/${jobId}/outcomes`, `/api/jobs/${jobId}/outcomes.csv`]) {
      expect(await errorOf(await as(rep2, "GET", path))).toMatchObject({ status: 404, code: "not_found" });
    }
    expect(await errorOf(await as(rep2, "POST", `/api/jobs/${jobId}/cancel`))).toMatchObject({ status: 404 });
    // The sequence is none of rep2's: filtering by it is 404, as its own pages are; unfiltered, its job isn't listed.
    expect(await errorOf(await as(rep2, "GET", `/api/jobs?per_page=100&sequence_id=${SEQ_REP1}`))).toMatchObject({ status: 404 });
    const jobs = await body<Items<"jobs">>(await as(rep2, "GET", `/api/jobs?per_page=100`));
    expect(jobs.jobs.map((j) => j.id)).not.toContain(jobId);
    expect(
      (await body<Items<"jobs">>(await as(rep1, "GET", `/api/jobs?per_page=100&sequence_id=${SEQ_REP1}`))).jobs.map((j) => j.id),
    ).toContain(jobId);

    // An email of that sequence, with its raw MIME (which holds an unsubscribe link).
    const msgId = newId();
    await env.DB.prepare(
      `INSERT INTO messages (id, team_id, enrollment_id, sequence_id, step_id, mailbox_id, contact_id, to_email, subject, body, message_id_header, status, raw, sent_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'x@example.com', 'Hello', 'Body', ?, 'sent', 'List-Unsubscribe: <https://x/u/secret-token>', 1, 1)`,
    )
      .bind(msgId, DEMO.team, newId(), SEQ_REP1, newId(), MB_ADMIN, contact!.id, `<${msgId}@demo.test>`)
      .run();
    expect((await as(rep1, "GET", `/api/messages/${msgId}/raw`)).status).toBe(200);
    expect(await errorOf(await as(rep2, "GET", `/api/messages/${msgId}/raw`))).toMatchObject({ status: 404, code: "not_found" });
    const outboxOf = async (s: Session) =>
      (await body<Items<"messages">>(await as(s, "GET", `/api/messages?per_page=100&contact_id=${contact!.id}`))).messages.map((m) => m.id);
    expect(await outboxOf(rep2)).not.toContain(msgId);
    expect(await outboxOf(rep1)).toContain(msgId);

    // A call task of that sequence, assigned to rep1: hidden from rep2 (who still sees team tasks without a sequence).
    const taskId = newId();
    await env.DB.prepare(
      "INSERT INTO tasks (id, team_id, enrollment_id, sequence_id, step_id, contact_id, assignee_id, type, note, due_at, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'call', 'Call them', 1, 'open', 1)",
    )
      .bind(taskId, DEMO.team, newId(), SEQ_REP1, newId(), contact!.id, DEMO.rep1)
      .run();
    const tasksOf = async (s: Session) =>
      (await body<Items<"tasks">>(await as(s, "GET", "/api/tasks?view=open&assignee=all&per_page=100"))).tasks.map((t) => t.id);
    expect(await tasksOf(rep1)).toContain(taskId);
    expect(await tasksOf(rep2)).not.toContain(taskId);
    expect((await tasksOf(rep2)).length).toBeGreaterThan(0);
    expect(await errorOf(await as(rep2, "POST", `/api/tasks/${taskId}/complete`, {}))).toMatchObject({ status: 404 });

    const wf = await body<{ workflow: Id }>(
      await as(rep1, "POST", "/api/workflows", {
        name: `Riley WF ${newId()}`,
        sequence_id: SEQ_REP1,
        filters: { titles: ["CTO"] },
        active: false,
      }),
    );
    expect(await errorOf(await as(rep2, "GET", `/api/workflows/${wf.workflow.id}`))).toMatchObject({ status: 404 });
    expect(await errorOf(await as(rep2, "GET", `/api/workflows/${wf.workflow.id}/runs`))).toMatchObject({ status: 404 });
    expect((await body<Items<"workflows">>(await as(rep2, "GET", "/api/workflows"))).workflows.map((w) => w.id)).not.toContain(
      wf.workflow.id,
    );
    expect((await body<Items<"workflows">>(await as(admin, "GET", "/api/workflows"))).workflows.map((w) => w.id)).toContain(wf.workflow.id);
  });

  it("a mailbox's test email is seen by those who may manage the mailbox, not by other members", async () => {
    const res = await as(rep1, "POST", `/api/mailboxes/${MB_REP1}/test`, { to: "rep1@demo.test" });
    expect(res.status).toBe(200);
    const row = await env.DB.prepare("SELECT id FROM messages WHERE mailbox_id = ? AND sequence_id = '' ORDER BY created_at DESC LIMIT 1")
      .bind(MB_REP1)
      .first<{ id: string }>();
    expect((await as(rep1, "GET", `/api/messages/${row!.id}/raw`)).status).toBe(200);
    expect((await as(admin, "GET", `/api/messages/${row!.id}/raw`)).status).toBe(200);
    expect(await errorOf(await as(rep2, "GET", `/api/messages/${row!.id}/raw`))).toMatchObject({ status: 404 });
    const listed = async (s: Session) =>
      (await body<Items<"messages">>(await as(s, "GET", `/api/messages?per_page=100&mailbox_id=${MB_REP1}`))).messages.map((m) => m.id);
    expect(await listed(rep1)).toContain(row!.id);
    expect(await listed(rep2)).not.toContain(row!.id);
  });

  it("Apollo's campaign, email and task searches show a member session only what it can see", async () => {
    const apollo = (s: Session, path: string) => as(s, "POST", `/apollo/api/v1/${path}`, {});
    const campaigns = await body<Items<"emailer_campaigns">>(await apollo(rep2, "emailer_campaigns/search"));
    expect(campaigns.emailer_campaigns.map((c) => c.id)).not.toContain(SEQ_REP1);
    expect(
      (await body<Items<"emailer_campaigns">>(await apollo(admin, "emailer_campaigns/search"))).emailer_campaigns.map((c) => c.id),
    ).toContain(SEQ_REP1);
    const msgs = await body<Items<"emailer_messages", { emailer_campaign_id: string }>>(await apollo(rep2, "emailer_messages/search"));
    expect(msgs.emailer_messages.every((m) => m.emailer_campaign_id !== SEQ_REP1)).toBe(true);
  });

  it("Apollo's user_id can't lift a member to an admin's rights", async () => {
    // rep2 can't see rep1's sequence; naming the admin as user_id used to act with the admin's role.
    const enrolled = await env.DB.prepare("SELECT contact_id, status FROM enrollments WHERE sequence_id = ? LIMIT 3")
      .bind(SEQ_REP1)
      .all<{ contact_id: string; status: string }>();
    const res = await as(rep2, "POST", "/apollo/api/v1/emailer_campaigns/remove_or_stop_contact_ids", {
      emailer_campaign_ids: [SEQ_REP1],
      contact_ids: enrolled.results.map((r) => r.contact_id),
      mode: "remove",
      user_id: DEMO.admin,
    });
    expect(await errorOf(res)).toMatchObject({ status: 403, code: "forbidden" });
    const after = await env.DB.prepare("SELECT contact_id, status FROM enrollments WHERE sequence_id = ? LIMIT 3")
      .bind(SEQ_REP1)
      .all<{ contact_id: string; status: string }>();
    expect(after.results).toEqual(enrolled.results);
  });
});

describe("bad values are refused, naming the field", () => {
  it("empty ids are 422, not stored", async () => {
    const seq = await newSequence(admin);
    for (const [field, value] of [
      ["owner_id", ""],
      ["schedule_id", ""],
      ["owner_id", "   "],
    ] as const) {
      const e = await errorOf(await as(admin, "PATCH", `/api/sequences/${seq}`, { [field]: value }));
      expect(e).toMatchObject({ status: 422, code: "validation_failed" });
      expect(fieldsOf(e).map((f) => f.field)).toContain(field);
    }
    expect(await ownerOf(seq)).toBe(DEMO.admin);
    const e = await errorOf(await as(admin, "POST", "/api/contacts/stage", { contact_ids: ["a"], stage_id: "" }));
    expect(e).toMatchObject({ status: 422 });
    expect(fieldsOf(e).map((f) => f.field)).toContain("stage_id");
  });

  it("another team's user can't own a mailbox", async () => {
    const email = `m-${newId()}@demo.test`;
    const e = await errorOf(await as(admin, "POST", "/api/mailboxes", { email, sender_name: "X", user_id: DEMO.rivalAdmin }));
    expect(e).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(e)[0]!.field).toBe("user_id");
    expect(await env.DB.prepare("SELECT id FROM mailboxes WHERE email = ?").bind(email).first()).toBeNull();
    expect((await as(rep1, "POST", "/api/mailboxes", { email, sender_name: "X", user_id: DEMO.rep2 })).status).toBe(403);
  });

  it("moving contacts to a stage counts only the contacts it changed", async () => {
    const ids = (
      await env.DB.prepare("SELECT id FROM contacts WHERE team_id = ? AND deleted_at IS NULL LIMIT 2").bind(DEMO.team).all<{ id: string }>()
    ).results.map((r) => r.id);
    const rivalContact = await env.DB.prepare("SELECT id FROM contacts WHERE team_id = ? LIMIT 1").bind(DEMO.rival).first<{ id: string }>();
    const stage = await env.DB.prepare("SELECT id FROM contact_stages WHERE team_id = ? AND category = 'open' LIMIT 1")
      .bind(DEMO.team)
      .first<{ id: string }>();
    const res = await body<unknown>(
      await as(admin, "POST", "/api/contacts/stage", { contact_ids: [...ids, ids[0], "nope", rivalContact!.id], stage_id: stage!.id }),
    );
    expect(res).toEqual({ updated: 2, not_found: ["nope", rivalContact!.id], runs_ended: 0 });
    expect(
      (await env.DB.prepare("SELECT team_id FROM contacts WHERE id = ?").bind(rivalContact!.id).first<{ team_id: string }>())!.team_id,
    ).toBe(DEMO.rival);
  });
});

describe("the permission table", () => {
  it("is printed in the README, one row per rule", async () => {
    const readme: string = (await import("../../README.md?raw")).default;
    for (const action of Object.keys(RULES)) expect(readme).toContain(`\`${action}\``);
  });
});
