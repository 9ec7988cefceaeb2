import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { client, env, ok } from "../helpers";
import { addContactsSetup, makeContacts, waitForJob } from "../fixtures";

/** Verified people of the shared database, with their real addresses. */
async function people(n: number) {
  const { results } = await env.DB.prepare(
    "SELECT id, email FROM people WHERE email_status = 'verified' AND email IS NOT NULL ORDER BY id LIMIT ?",
  )
    .bind(n)
    .all<{ id: string; email: string }>();
  return results;
}

const masked = (email: string) => `${email.charAt(0)}•••@${email.split("@")[1]}`;

beforeEach(() => resetClock());

describe("a net-new person's address stays masked until a credit buys it", () => {
  it("in the add-contacts preview, as in the people search; saved contacts show theirs", async () => {
    const x = await addContactsSetup();
    const ps = await people(4);
    const saved = await makeContacts(x.teamId, 2);
    const body = await ok(
      client(x.s).api.sequences[":id"]["add-contacts"].preview.$post({
        param: { id: x.sequenceId },
        query: {},
        json: { source: { people_ids: ps.map((p) => p.id), contact_ids: saved } },
      }),
    );
    const text = JSON.stringify(body);
    for (const p of ps) expect(text).not.toContain(p.email);
    const netNew = body.contacts.filter((c) => c.net_new);
    expect(netNew).toHaveLength(4);
    for (const c of netNew) expect(c.email).toBe(masked(ps.find((p) => p.id === c.person_id)!.email));
    const mine = body.contacts.filter((c) => !c.net_new);
    expect(mine.map((c) => c.email).sort()).toEqual(
      (await env.DB.prepare(`SELECT email FROM contacts WHERE id IN (?, ?)`).bind(saved[0], saved[1]).all<{ email: string }>()).results
        .map((r) => r.email)
        .sort(),
    );
  });

  it("in the preview for an address enrichment would find (the credits are spent only on commit)", async () => {
    const x = await addContactsSetup();
    const ids = await makeContacts(x.teamId, 20);
    await env.DB.prepare(
      `UPDATE contacts SET email = NULL, email_status = 'unavailable', domain = 'acme.test' WHERE id IN (SELECT value FROM json_each(?))`,
    )
      .bind(JSON.stringify(ids))
      .run();
    const body = await ok(
      client(x.s).api.sequences[":id"]["add-contacts"].preview.$post({
        param: { id: x.sequenceId },
        query: { per_page: "100" },
        json: { source: { contact_ids: ids }, enrich: true },
      }),
    );
    const enriched = body.contacts.filter((c) => c.reasons.includes("enriched"));
    expect(enriched.length).toBeGreaterThan(0);
    for (const c of enriched) expect(c.email).toMatch(/^[a-z0-9]•••@acme\.test$/);
  });

  it("in a job's outcomes (JSON and CSV) for people who were not saved; saved ones show the address they paid for", async () => {
    const x = await addContactsSetup();
    const [skipped, added] = await people(2);
    await env.DB.prepare(
      "INSERT INTO suppressions (id, team_id, email, reason, source, created_at) VALUES (?, ?, lower(?), 'unsubscribed', 'test', 0)",
    )
      .bind(newId(), x.teamId, skipped!.email)
      .run();
    const api = client(x.s).api;
    const { job } = await ok(
      api.sequences[":id"]["add-contacts"].$post({
        param: { id: x.sequenceId },
        header: {},
        json: { source: { people_ids: [skipped!.id, added!.id] } },
      }),
      202,
    );
    await waitForJob(job.id);
    const { outcomes } = await ok(api.jobs[":id"].outcomes.$get({ param: { id: job.id }, query: {} }));
    const byPerson = new Map(outcomes.map((o) => [o.person_id, o]));
    expect(byPerson.get(skipped!.id)).toMatchObject({ outcome: "skipped", contact_id: null, email: masked(skipped!.email) });
    expect(byPerson.get(added!.id)!.contact_id).toBeTruthy();
    expect(byPerson.get(added!.id)!.email).toBe(added!.email);
    const csv = await (await api.jobs[":id"]["outcomes.csv"].$get({ param: { id: job.id } })).text();
    expect(csv).not.toContain(skipped!.email);
    expect(csv).toContain(masked(skipped!.email));
    expect(csv).toContain(added!.email);
  });
});
