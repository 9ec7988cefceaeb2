import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import type { apolloCampaign, apolloContacts, apolloEmailAccount, apolloPagination } from "../../worker/apollo/present";
import { call, env, errorOf, fieldsOf } from "../helpers";
import { addContactsSetup, makeContacts, makeList } from "../fixtures";

const BASE = "/apollo/api/v1";
/** An Apollo answer, typed by the caller from the facade's presenters (the facade is not in AppType). */
const json = async <T>(r: Response) => (await r.json()) as T;
type Contact = Awaited<ReturnType<typeof apolloContacts>>[number];
type Pagination = ReturnType<typeof apolloPagination>;
interface Contacts {
  contacts: Contact[];
}
const count = async (sql: string, ...b: unknown[]) =>
  (await env.DB.prepare(sql)
    .bind(...b)
    .first<{ n: number }>())!.n;

/** A master and a standard key for a fresh team, made the way an admin makes them. */
async function keysFor(teamId: string, userId: string) {
  const { sha256Hex } = await import("../../worker/lib/crypto");
  const master = `m-${crypto.randomUUID()}`;
  const standard = `s-${crypto.randomUUID()}`;
  for (const [k, kind] of [
    [master, "master"],
    [standard, "standard"],
  ] as const) {
    await env.DB.prepare(
      "INSERT INTO api_keys (id, team_id, created_by, name, kind, key_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
    )
      .bind(crypto.randomUUID(), teamId, userId, kind, kind, await sha256Hex(k), k.slice(0, 9))
      .run();
  }
  return { master, standard };
}

beforeEach(() => resetClock());

describe("Apollo-compatible API", () => {
  it("POST contacts: a LinkedIn address without its scheme is taken as https, another scheme is refused", async () => {
    const x = await addContactsSetup();
    const { master } = await keysFor(x.teamId, x.userId);
    const create = (email: string, linkedin_url: string) =>
      call(`${BASE}/contacts`, {
        method: "POST",
        headers: { "x-api-key": master, "content-type": "application/json" },
        body: JSON.stringify({ email, linkedin_url }),
      });
    expect((await create("li1@example.com", "www.linkedin.com/in/li1")).status).toBe(200);
    expect((await create("li2@example.com", "http://www.linkedin.com/in/li2")).status).toBe(200);
    const refused = await create("li3@example.com", "javascript:alert(1)");
    expect(refused.status).toBe(422);
    const rows = await env.DB.prepare(
      "SELECT email, linkedin_url AS url FROM contacts WHERE team_id = ? AND email LIKE 'li%' ORDER BY email",
    )
      .bind(x.teamId)
      .all();
    expect(rows.results).toEqual([
      { email: "li1@example.com", url: "https://www.linkedin.com/in/li1" },
      { email: "li2@example.com", url: "http://www.linkedin.com/in/li2" },
    ]);
  });

  it("searches sequences (emailer_campaigns/search) with a JSON body, as Apollo's docs show", async () => {
    const x = await addContactsSetup();
    const { master } = await keysFor(x.teamId, x.userId);
    const res = await call(`${BASE}/emailer_campaigns/search`, {
      method: "POST",
      headers: { "x-api-key": master, "content-type": "application/json" },
      body: JSON.stringify({ q_name: "Seq", page: 1, per_page: 10 }),
    });
    expect(res.status).toBe(200);
    const body = await json<{ emailer_campaigns: ReturnType<typeof apolloCampaign>[]; pagination: Pagination }>(res);
    expect(body.emailer_campaigns).toHaveLength(1);
    expect(body.emailer_campaigns[0]).toMatchObject({ id: x.sequenceId, active: true, archived: false, num_steps: 2 });
    expect(body.pagination).toEqual({ page: 1, per_page: 10, total_entries: 1, total_pages: 1 });
  });

  it("adds contacts with query-string arrays and returns each contact's outcome in `seqflare`", async () => {
    const x = await addContactsSetup();
    const { master } = await keysFor(x.teamId, x.userId);
    const [ok, unsub, unverified] = await makeContacts(x.teamId, 3);
    await env.DB.batch([
      env.DB.prepare("UPDATE contacts SET unsubscribed_at = 1 WHERE id = ?").bind(unsub),
      env.DB.prepare("UPDATE contacts SET email_status = 'unverified' WHERE id = ?").bind(unverified),
    ]);
    const qs = new URLSearchParams();
    for (const id of [ok, unsub, unverified]) qs.append("contact_ids[]", id!);
    qs.append("emailer_campaign_id", x.sequenceId);
    qs.append("send_email_from_email_account_id", x.mailboxIds[0]!);
    const res = await call(`${BASE}/emailer_campaigns/${x.sequenceId}/add_contact_ids?${qs}`, {
      method: "POST",
      headers: { "x-api-key": master },
    });
    expect(res.status).toBe(200);
    const body = await json<
      Contacts & {
        emailer_campaign: { id: string };
        seqflare: { outcomes: { contact_id: string; outcome: string; reasons: { code: string; label: string }[] }[] };
      }
    >(res);
    expect(body.contacts.map((c) => c.id)).toEqual([ok]);
    expect(body.contacts[0]!.contact_campaign_statuses[0]).toMatchObject({
      emailer_campaign_id: x.sequenceId,
      status: "active",
      send_email_from_email_account_id: x.mailboxIds[0],
    });
    expect(body.emailer_campaign.id).toBe(x.sequenceId);
    const outcomes = Object.fromEntries(body.seqflare.outcomes.map((o) => [o.contact_id, o]));
    expect(outcomes[unsub!]).toMatchObject({ outcome: "skipped", reasons: [{ code: "unsubscribed", label: "Unsubscribed" }] });
    expect(outcomes[unverified!]!.outcome).toBe("warned");
    expect(outcomes[unverified!]!.reasons[0]!.code).toBe("unverified_email");
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(1);
  });

  it("adds contacts from a form body with label_names[] and Apollo's override flags", async () => {
    const x = await addContactsSetup();
    const { master } = await keysFor(x.teamId, x.userId);
    const ids = await makeContacts(x.teamId, 4);
    await env.DB.prepare("UPDATE contacts SET email_status = 'unverified' WHERE id = ?").bind(ids[0]).run();
    await makeList(x.teamId, x.userId, ids, "Webinar leads");
    const form = new URLSearchParams();
    form.append("label_names[]", "Webinar leads");
    form.append("sequence_unverified_email", "true");
    const res = await call(`${BASE}/emailer_campaigns/${x.sequenceId}/add_contact_ids`, {
      method: "POST",
      headers: { "x-api-key": master, "content-type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    });
    expect(res.status).toBe(200);
    expect((await json<Contacts>(res)).contacts).toHaveLength(4);
    expect(await count("SELECT count(*) n FROM enrollments WHERE sequence_id = ?", x.sequenceId)).toBe(4);
  });

  it("answers 422 when neither contact_ids nor label_names is given", async () => {
    const x = await addContactsSetup();
    const { master } = await keysFor(x.teamId, x.userId);
    const err = await errorOf(
      await call(`${BASE}/emailer_campaigns/${x.sequenceId}/add_contact_ids`, {
        method: "POST",
        headers: { "x-api-key": master, "content-type": "application/json" },
        body: JSON.stringify({ emailer_campaign_id: x.sequenceId }),
      }),
    );
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(err)[0]!.field).toBe("contact_ids");
    expect(await count("SELECT count(*) n FROM jobs WHERE team_id = ?", x.teamId)).toBe(0);
  });

  it("answers 403 to a standard key on master-only endpoints; standard keys still reach the others", async () => {
    const x = await addContactsSetup();
    const { standard } = await keysFor(x.teamId, x.userId);
    const h = { "x-api-key": standard, "content-type": "application/json" };
    for (const [method, path] of [
      ["POST", "/emailer_campaigns/search"],
      ["POST", `/emailer_campaigns/${x.sequenceId}/add_contact_ids`],
      ["POST", "/emailer_campaigns/remove_or_stop_contact_ids"],
      ["GET", "/email_accounts"],
      ["GET", "/users/search"],
      ["POST", "/tasks/search"],
      ["POST", "/emailer_messages/search"],
    ]) {
      const err = await errorOf(await call(`${BASE}${path}`, { method, headers: h, body: method === "POST" ? "{}" : undefined }));
      expect(err, `${method} ${path}`).toMatchObject({ status: 403, code: "master_key_required" });
    }
    expect((await call(`${BASE}/labels`, { headers: h })).status).toBe(200);
    expect((await call(`${BASE}/contacts/search`, { method: "POST", headers: h, body: "{}" })).status).toBe(200);
    expect(
      (await call(`${BASE}/mixed_people/search`, { method: "POST", headers: h, body: JSON.stringify({ person_seniorities: ["vp"] }) }))
        .status,
    ).toBe(200);
  });

  it("accepts the key as an api_key parameter; no key answers 401", async () => {
    const x = await addContactsSetup();
    const { master } = await keysFor(x.teamId, x.userId);
    expect((await call(`${BASE}/email_accounts?api_key=${master}`)).status).toBe(200);
    expect((await call(`/apollo/v1/email_accounts?api_key=${master}`)).status).toBe(200);
    expect((await call(`${BASE}/email_accounts`)).status).toBe(401);
  });

  it("stops, finishes and removes contacts (remove_or_stop_contact_ids)", async () => {
    const x = await addContactsSetup();
    const { master } = await keysFor(x.teamId, x.userId);
    const ids = await makeContacts(x.teamId, 3);
    const h = { "x-api-key": master, "content-type": "application/json" };
    await call(`${BASE}/emailer_campaigns/${x.sequenceId}/add_contact_ids`, {
      method: "POST",
      headers: h,
      body: JSON.stringify({ contact_ids: ids }),
    });
    for (const [mode, id, status] of [
      ["stop", ids[0], "paused"],
      ["mark_as_finished", ids[1], "finished"],
      ["remove", ids[2], "removed"],
    ] as const) {
      const res = await call(`${BASE}/emailer_campaigns/remove_or_stop_contact_ids`, {
        method: "POST",
        headers: h,
        body: JSON.stringify({ emailer_campaign_ids: [x.sequenceId], contact_ids: [id], mode }),
      });
      expect(res.status).toBe(200);
      const body = await json<Contacts>(res);
      expect(body.contacts[0]!.contact_campaign_statuses[0]!.status).toBe(status);
      expect(
        (await env.DB.prepare("SELECT status FROM enrollments WHERE contact_id = ?").bind(id).first<{ status: string }>())!.status,
      ).toBe(status);
    }
  });

  it("lists email accounts, labels and users in Apollo's shapes, only of the key's team", async () => {
    const x = await addContactsSetup();
    const { master } = await keysFor(x.teamId, x.userId);
    await makeList(x.teamId, x.userId, await makeContacts(x.teamId, 2), "Label A");
    const accounts = await json<{ email_accounts: ReturnType<typeof apolloEmailAccount>[] }>(
      await call(`${BASE}/email_accounts`, { headers: { "x-api-key": master } }),
    );
    expect(accounts.email_accounts.map((a) => a.id)).toEqual(x.mailboxIds);
    expect(accounts.email_accounts[0]).toMatchObject({ active: true, email_daily_threshold: 100 });
    const labels = await json<unknown>(await call(`${BASE}/labels`, { headers: { "x-api-key": master } }));
    expect(labels).toEqual([expect.objectContaining({ name: "Label A", modality: "contacts", cached_count: 2 })]);
    const users = await json<{ users: { id: string }[] }>(await call(`${BASE}/users/search`, { headers: { "x-api-key": master } }));
    expect(users.users.map((u) => u.id)).toEqual([x.userId]);
  });

  it("creates, updates, searches and re-stages contacts", async () => {
    const x = await addContactsSetup();
    const { standard } = await keysFor(x.teamId, x.userId);
    const h = { "x-api-key": standard, "content-type": "application/json" };
    const created = await json<{ contact: Contact }>(
      await call(`${BASE}/contacts`, {
        method: "POST",
        headers: h,
        body: JSON.stringify({
          first_name: "Grace",
          last_name: "Hopper",
          email: "grace@navy.test",
          organization_name: "Navy",
          title: "Rear Admiral",
          label_names: ["Legends"],
        }),
      }),
    );
    expect(created.contact).toMatchObject({ first_name: "Grace", organization_name: "Navy", email: "grace@navy.test" });
    expect(created.contact.label_ids).toHaveLength(1);
    const dup = await json<{ contact: Contact }>(
      await call(`${BASE}/contacts`, {
        method: "POST",
        headers: h,
        body: JSON.stringify({ first_name: "G", email: "grace@navy.test", run_dedupe: true }),
      }),
    );
    expect(dup.contact.id).toBe(created.contact.id);
    const updated = await json<{ contact: Contact }>(
      await call(`${BASE}/contacts/${created.contact.id}`, { method: "PUT", headers: h, body: JSON.stringify({ title: "Admiral" }) }),
    );
    expect(updated.contact.title).toBe("Admiral");
    const found = await json<Contacts>(
      await call(`${BASE}/contacts/search`, { method: "POST", headers: h, body: JSON.stringify({ q_keywords: "Hopper" }) }),
    );
    expect(found.contacts.map((c) => c.id)).toEqual([created.contact.id]);
    const staged = await json<Contacts>(
      await call(`${BASE}/contacts/update_stages`, {
        method: "POST",
        headers: h,
        body: JSON.stringify({ contact_ids: [created.contact.id], contact_stage_id: `${x.teamId}-dnc` }),
      }),
    );
    expect(staged.contacts[0]!.contact_stage_id).toBe(`${x.teamId}-dnc`);
    // another team's contact: 404
    const other = await addContactsSetup();
    const [foreign] = await makeContacts(other.teamId, 1);
    expect((await call(`${BASE}/contacts/${foreign}`, { method: "PUT", headers: h, body: JSON.stringify({ title: "x" }) })).status).toBe(
      404,
    );
  });

  it("searches people (mixed_people/search) with Apollo's filters: net-new people and saved contacts apart", async () => {
    const x = await addContactsSetup();
    const { standard } = await keysFor(x.teamId, x.userId);
    const body = await json<{
      people: { seniority: string | null; organization: { estimated_num_employees: number }; email: string | null }[];
      pagination: Pagination;
    }>(
      await call(`${BASE}/mixed_people/search`, {
        method: "POST",
        headers: { "x-api-key": standard, "content-type": "application/json" },
        body: JSON.stringify({ person_seniorities: ["director"], organization_num_employees_ranges: ["51,200", "201,500"], per_page: 10 }),
      }),
    );
    expect(body.people.length).toBeGreaterThan(0);
    expect(
      body.people.every(
        (p) =>
          p.seniority === "director" &&
          p.organization.estimated_num_employees >= 51 &&
          p.organization.estimated_num_employees <= 500 &&
          p.email === null,
      ),
    ).toBe(true);
    expect(body.pagination.total_entries).toBe(
      await count("SELECT count(*) n FROM people WHERE seniority = 'director' AND employees BETWEEN 51 AND 500"),
    );
  });

  it("searches sent messages and tasks", async () => {
    const x = await addContactsSetup();
    const { master } = await keysFor(x.teamId, x.userId);
    const h = { "x-api-key": master, "content-type": "application/json" };
    const msgs = await json<unknown>(
      await call(`${BASE}/emailer_messages/search`, {
        method: "POST",
        headers: h,
        body: JSON.stringify({ emailer_campaign_ids: [x.sequenceId] }),
      }),
    );
    expect(msgs).toMatchObject({ emailer_messages: [], pagination: { total_entries: 0 } });
    const tasks = await json<{ pagination: Pagination }>(await call(`${BASE}/tasks/search`, { method: "POST", headers: h, body: "{}" }));
    expect(tasks.pagination.total_entries).toBe(0);
  });
});
