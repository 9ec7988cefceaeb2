// Apollo's accounts/search: Airweave's Apollo source checks its key with it (`{"per_page": 1, "page": 1}`)
// and syncs accounts with it before contacts; sim.ai's and other tools search accounts by it. Seqflare
// keeps no account records (a company is a contact's field), so the truthful answer is no accounts and an
// empty pagination: never accounts made up from contacts' companies. Before, the path answered 404, and
// Airweave's connection check failed before its sync reached contacts.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup, makeContacts } from "../fixtures";
import { call, env, errorOf, fieldsOf } from "../helpers";
import { masterKey } from "./apollo-key";

const BASE = "/apollo/api/v1";

interface Accounts {
  accounts: unknown[];
  breadcrumbs: unknown[];
  pagination: { page: number; per_page: number; total_entries: number; total_pages: number };
}

/** Airweave's request: POST, the key in `x-api-key`, a JSON body, no-cache (its _headers). */
const airweave = (key: string, body: unknown) =>
  call(`${BASE}/accounts/search`, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json", accept: "application/json", "cache-control": "no-cache" },
    body: JSON.stringify(body),
  });

/** A standard key (Apollo's accounts/search doesn't need a master key; Airweave asks for one only for sequences and emails). */
async function standardKey(teamId: string, userId: string) {
  const { sha256Hex } = await import("../../worker/lib/crypto");
  const key = `s-${crypto.randomUUID()}`;
  await env.DB.prepare(
    "INSERT INTO api_keys (id, team_id, created_by, name, kind, key_hash, prefix, created_at) VALUES (?, ?, ?, 'sync', 'standard', ?, ?, 0)",
  )
    .bind(crypto.randomUUID(), teamId, userId, await sha256Hex(key), key.slice(0, 9))
    .run();
  return key;
}

beforeEach(() => resetClock());

describe("Apollo accounts/search", () => {
  it("answers Airweave's key check and sync pages with no accounts, even when contacts have companies", async () => {
    const x = await addContactsSetup();
    await makeContacts(x.teamId, 5);
    const companies = await env.DB.prepare("SELECT count(DISTINCT company) AS n FROM contacts WHERE team_id = ? AND company IS NOT NULL")
      .bind(x.teamId)
      .first<{ n: number }>();
    expect(companies!.n).toBeGreaterThan(0);
    for (const key of [await masterKey(x.teamId, x.userId), await standardKey(x.teamId, x.userId)]) {
      // validate(): one row of page 1.
      const check = await airweave(key, { per_page: 1, page: 1 });
      expect(check.status).toBe(200);
      expect(await check.json()).toEqual({
        accounts: [],
        breadcrumbs: [],
        pagination: { page: 1, per_page: 1, total_entries: 0, total_pages: 1 },
      });
      // _paginate_post: page 1 of 100; its loop stops at total_pages (or on no items).
      const page = (await (await airweave(key, { page: 1, per_page: 100 })).json()) as Accounts;
      expect(page.accounts).toEqual([]);
      expect(page.pagination).toEqual({ page: 1, per_page: 100, total_entries: 0, total_pages: 1 });
    }
  });

  it("takes GET with the key in the query and Apollo's documented filters, answering the same", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const qs = new URLSearchParams([
      ["api_key", key],
      ["q_organization_name", "Acme"],
      ["account_stage_ids[]", "61b8e913e0f4d2012e3af74e"],
      ["account_label_ids[]", "61b8e913e0f4d2012e3af74f"],
      ["sort_by_field", "account_last_activity_date"],
      ["sort_ascending", "false"],
      ["page", "2"],
      ["per_page", "10"],
    ]);
    const res = await call(`/apollo/v1/accounts/search/?${qs}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      accounts: [],
      breadcrumbs: [],
      pagination: { page: 2, per_page: 10, total_entries: 0, total_pages: 1 },
    });
  });

  it("takes sim.ai's account search (q_keywords, owner_id, account_stage_ids in JSON) and answers another team's owner with a 404", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const sim = await airweave(key, {
      page: 1,
      per_page: 25,
      q_keywords: "acme",
      owner_id: x.userId,
      account_stage_ids: ["61b8e913e0f4d2012e3af74e"],
    });
    expect(sim.status).toBe(200);
    expect(((await sim.json()) as Accounts).accounts).toEqual([]);
    const rival = await addContactsSetup();
    const foreign = await airweave(key, { owner_id: rival.userId });
    expect((await errorOf(foreign)).status).toBe(404);
  });

  it("holds a request to the rules of every search: key, parameters it can't apply, sort values, pages and list lengths", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    expect((await airweave("not-a-key", {})).status).toBe(401);
    expect((await call(`${BASE}/accounts/search`, { method: "POST" })).status).toBe(401);
    for (const [body, field] of [
      [{ organization_locations: ["Berlin"] }, "organization_locations"],
      [{ q_name: "acme" }, "q_name"],
      [{ owner_id: "", organization_ids: ["x"] }, "organization_ids"],
      [{ sort_by_field: "account_name" }, "sort_by_field"],
      [{ sort_ascending: "maybe" }, "sort_ascending"],
      [{ page: 501 }, "page"],
      [{ per_page: 101 }, "per_page"],
      [{ account_stage_ids: Array.from({ length: 101 }, (_, i) => `s${i}`) }, "account_stage_ids"],
    ] as const) {
      const err = await errorOf(await airweave(key, body));
      expect(err, field).toMatchObject({ status: 422, code: "validation_failed" });
      expect(fieldsOf(err).map((f) => f.field)).toEqual([field]);
    }
    // A revoked key is refused like any other.
    await env.DB.prepare("UPDATE api_keys SET revoked_at = 1 WHERE team_id = ?").bind(x.teamId).run();
    expect((await airweave(key, {})).status).toBe(401);
  });
});
