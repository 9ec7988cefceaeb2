// Airweave's Apollo source (backend/airweave/platform/sources/apollo.py), request for request: headers
// x-api-key, Content-Type/Accept JSON and Cache-Control no-cache; validate() is POST accounts/search
// {"per_page": 1, "page": 1}; a sync pages POST accounts/search and contacts/search with page and per_page
// (100) in the JSON body, POST emailer_campaigns/search with them in the query string and a body of {},
// and GET emailer_messages/search with them in the query string, each until pagination.total_pages or an
// empty page; a 403 on sequences or emails (no master key) skips them. Its email entity reads due_at,
// from_email, from_name and failure_reason: Seqflare knows each but answered none of them (due_at even
// though a due_at range filters on it).
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup, makeContacts, makeMessages } from "../fixtures";
import { call, env } from "../helpers";
import { masterKey } from "./apollo-key";

const BASE = "/apollo/api/v1";
const PER_PAGE = 100;

type Page = Record<string, unknown> & { pagination?: { total_pages?: number } };

function airweave(key: string) {
  const headers = { "x-api-key": key, "Content-Type": "application/json", Accept: "application/json", "Cache-Control": "no-cache" };
  const send = async (method: string, path: string, body: unknown, params?: Record<string, number>) => {
    const qs = params ? `?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))}` : "";
    const res = await call(`${BASE}${path}${qs}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, data: (await res.json()) as Page };
  };
  /** _paginate_post / _paginate_get: every item, or the status that stopped it. */
  const paginate = async (kind: "body" | "query" | "get", path: string, key: string) => {
    const items: Record<string, unknown>[] = [];
    for (let page = 1; ; page++) {
      const r =
        kind === "body"
          ? await send("POST", path, { page, per_page: PER_PAGE })
          : kind === "query"
            ? await send("POST", path, {}, { page, per_page: PER_PAGE })
            : await send("GET", path, undefined, { page, per_page: PER_PAGE });
      if (r.status !== 200) return { status: r.status, items };
      const got = (r.data[key] as Record<string, unknown>[] | undefined) ?? [];
      items.push(...got);
      if (page >= (r.data.pagination?.total_pages ?? 1) || !got.length) return { status: 200, items };
    }
  };
  return {
    validate: () => send("POST", "/accounts/search", { per_page: 1, page: 1 }),
    accounts: () => paginate("body", "/accounts/search", "accounts"),
    contacts: () => paginate("body", "/contacts/search", "contacts"),
    sequences: () => paginate("query", "/emailer_campaigns/search", "emailer_campaigns"),
    emails: () => paginate("get", "/emailer_messages/search", "emailer_messages"),
  };
}

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

describe("Airweave's Apollo sync against the facade", () => {
  it("validates, then syncs no accounts, every contact, the sequences and every email with its sender and due time", async () => {
    const x = await addContactsSetup();
    const a = airweave(await masterKey(x.teamId, x.userId));
    const contacts = await makeContacts(x.teamId, 205);
    const [sent, failed] = await makeMessages(x.teamId, x.sequenceId, x.stepIds[0]!, x.mailboxIds[0]!, contacts.slice(0, 2), (i) =>
      i === 0 ? "sent" : "failed",
    );
    await env.DB.prepare("UPDATE messages SET error = 'Mailbox refused: 550 no such user' WHERE id = ?").bind(failed).run();
    const mailbox = (await env.DB.prepare("SELECT email, sender_name FROM mailboxes WHERE id = ?")
      .bind(x.mailboxIds[0])
      .first<{ email: string; sender_name: string }>())!;

    expect((await a.validate()).status).toBe(200);
    expect(await a.accounts()).toEqual({ status: 200, items: [] });
    const synced = await a.contacts();
    expect(synced.status).toBe(200);
    expect(synced.items.map((c) => c.id).sort()).toEqual([...contacts].sort());
    const sequences = await a.sequences();
    expect(sequences.status).toBe(200);
    expect(sequences.items.map((s) => s.id)).toEqual([x.sequenceId]);

    const emails = await a.emails();
    expect(emails.status).toBe(200);
    const rows = await env.DB.prepare("SELECT id, scheduled_at FROM messages WHERE team_id = ?")
      .bind(x.teamId)
      .all<{ id: string; scheduled_at: number }>();
    const due = new Map(rows.results.map((r) => [r.id, new Date(r.scheduled_at).toISOString()]));
    expect(emails.items.map((m) => m.id).sort()).toEqual([sent, failed].sort());
    for (const m of emails.items)
      expect(m).toMatchObject({
        user_id: x.userId,
        emailer_campaign_id: x.sequenceId,
        from_email: mailbox.email,
        from_name: mailbox.sender_name,
        due_at: due.get(m.id as string),
      });
    expect(emails.items.find((m) => m.id === sent)).toMatchObject({ status: "completed", failure_reason: null });
    expect(emails.items.find((m) => m.id === failed)).toMatchObject({
      status: "failed",
      failure_reason: "Mailbox refused: 550 no such user",
    });
  });

  it("with a standard key: accounts and contacts sync, sequences and emails answer 403 (Airweave skips them)", async () => {
    const x = await addContactsSetup();
    const a = airweave(await standardKey(x.teamId, x.userId));
    const contacts = await makeContacts(x.teamId, 3);
    expect((await a.validate()).status).toBe(200);
    expect(await a.accounts()).toEqual({ status: 200, items: [] });
    expect((await a.contacts()).items.map((c) => c.id).sort()).toEqual([...contacts].sort());
    expect((await a.sequences()).status).toBe(403);
    expect((await a.emails()).status).toBe(403);
  });
});
