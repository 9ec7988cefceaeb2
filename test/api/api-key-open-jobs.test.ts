// Revoking a key ends the work it started (each job re-checks its key when it acts): the keys list says,
// per key, how much of it is still to run, which the revoke dialog shows. Team-scoped.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup, makeContacts } from "../fixtures";
import { as, call, countedGet, env } from "../helpers";

type Keys = { api_keys: { id: string; open_jobs: number }[] };

beforeEach(() => resetClock());

describe("a key's open jobs", () => {
  it("counts the adds and bulk actions a key started that are still to run, of its team only", async () => {
    const x = await addContactsSetup();
    const made = async (name: string) =>
      (await (await as(x.s, "POST", "/api/api-keys", { name, kind: "master" })).json()) as { api_key: { id: string }; key: string };
    const used = await made("Zapier");
    const idle = await made("Idle");
    const contacts = await makeContacts(x.teamId, 3);
    const add = async (contactId: string) => {
      const r = await call(`/apollo/api/v1/emailer_campaigns/${x.sequenceId}/add_contact_ids`, {
        method: "POST",
        headers: { "x-api-key": used.key, "content-type": "application/json" },
        body: JSON.stringify({ contact_ids: [contactId] }),
      });
      return ((await r.json()) as { seqflare: { job: { id: string } } }).seqflare.job.id;
    };
    const [scheduled, running, done] = [await add(contacts[0]!), await add(contacts[1]!), await add(contacts[2]!)];
    // The key's jobs as they stand while waiting (each was answered at once, so they are set so here).
    await env.DB.batch([
      env.DB.prepare("UPDATE jobs SET status = 'scheduled' WHERE id = ?").bind(scheduled),
      env.DB.prepare("UPDATE jobs SET status = 'running' WHERE id = ?").bind(running),
    ]);
    expect((await env.DB.prepare("SELECT status FROM jobs WHERE id = ?").bind(done).first<{ status: string }>())!.status).toBe("completed");
    // A bulk action under way with the same key, and (impossible, but scoping) another team's job naming it.
    const other = await addContactsSetup();
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO enrollment_action_jobs (id, team_id, sequence_id, caller, action, params, filter, status, created_at, updated_at)
         SELECT 'eaj' || id, team_id, sequence_id, caller, 'pause', '{}', '{}', 'running', created_at, created_at FROM jobs WHERE id = ?`,
      ).bind(done),
      env.DB.prepare(
        `INSERT INTO jobs (id, team_id, user_id, caller, kind, sequence_id, source, options, status, created_at)
         SELECT 'x' || id, ?, user_id, caller, kind, ?, source, options, 'scheduled', created_at FROM jobs WHERE id = ?`,
      ).bind(other.teamId, other.sequenceId, scheduled),
    ]);

    const list = (await (await as(x.s, "GET", "/api/api-keys")).json()) as Keys;
    expect(list.api_keys.find((k) => k.id === used.api_key.id)!.open_jobs).toBe(3);
    expect(list.api_keys.find((k) => k.id === idle.api_key.id)!.open_jobs).toBe(0);
    const otherAdmin = other.s;
    const theirs = (await (await as(otherAdmin, "GET", "/api/api-keys")).json()) as Keys;
    expect(theirs.api_keys.every((k) => k.open_jobs === 0)).toBe(true);
    expect(
      (await env.DB.prepare("SELECT count(*) n FROM jobs WHERE team_id = ? AND status = 'scheduled'")
        .bind(x.teamId)
        .first<{ n: number }>())!.n,
    ).toBe(1);

    // The revoke's answer says it too.
    const revoked = (await (await as(x.s, "DELETE", `/api/api-keys/${used.api_key.id}`)).json()) as { api_key: { open_jobs: number } };
    expect(revoked.api_key.open_jobs).toBe(3);
  });

  it("reads the open jobs by status, not every job the team ever ran", async () => {
    const x = await addContactsSetup();
    // A team's history: 1,500 finished adds (workflows make one per run), none open.
    await env.DB.prepare(
      `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 1500)
       INSERT INTO jobs (id, team_id, user_id, caller, kind, sequence_id, source, options, status, created_at)
       SELECT 'old' || i, ?, ?, '{"apiKeyId":"k"}', 'add_contacts', ?, '{}', '{}', 'completed', i FROM k`,
    )
      .bind(x.teamId, x.userId, x.sequenceId)
      .run();
    const r = await countedGet<Keys>(x.s.cookie, "/api/api-keys");
    expect(r.status).toBe(200);
    expect(r.count.rowsRead, r.count.statements.join("\n")).toBeLessThan(300);
  });
});
