// Apollo's emailer_messages/search date range: emailer_message_date_range[min|max] (or emailerMessageDateRange),
// in JSON or the query string, by sent time (completed_at, the default) or scheduled time (due_at). A bad date
// is a 422 naming the field. The sent-time range is read down messages_team_sent_idx as a range.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { resetClock } from "../../worker/lib/clock";
import { countingD1 } from "../../worker/middleware/d1-count";
import { addContactsSetup, makeContacts, makeMessages } from "../fixtures";
import { call, env, errorOf, fieldsOf } from "../helpers";
import { masterKey } from "./apollo-key";

const BASE = "/apollo/api/v1";
type Messages = { emailer_messages: { id: string }[]; pagination: { total_entries: number } };
const DAY = 86_400_000;
const at = (iso: string) => Date.parse(iso);

async function setup() {
  const x = await addContactsSetup();
  const key = await masterKey(x.teamId, x.userId);
  const contacts = await makeContacts(x.teamId, 3);
  const ids = await makeMessages(x.teamId, x.sequenceId, x.stepIds[0]!, x.mailboxIds[0]!, contacts);
  // Sent on 1, 2 and 3 March; each scheduled the day before it went out.
  const sent = [at("2026-03-01T10:00:00Z"), at("2026-03-02T23:30:00Z"), at("2026-03-03T08:00:00Z")];
  for (const [i, id] of ids.entries())
    await env.DB.prepare("UPDATE messages SET sent_at = ?, scheduled_at = ? WHERE id = ?")
      .bind(sent[i], sent[i]! - DAY, id)
      .run();
  return { key, ids };
}

const search = async (key: string, body: unknown, query = "") => {
  const res = await call(`${BASE}/emailer_messages/search${query}`, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return res;
};
const idsOf = async (res: Response) => {
  expect(res.status).toBe(200);
  return ((await res.json()) as Messages).emailer_messages.map((m) => m.id).sort();
};

beforeEach(() => resetClock());

describe("Apollo emailer_messages/search date range", () => {
  it("keeps the emails sent in the range (whole days, both ends), in JSON, camelCase and the query string", async () => {
    const { key, ids } = await setup();
    const [m1, m2, m3] = ids;
    expect(await idsOf(await search(key, { emailer_message_date_range: { min: "2026-03-02", max: "2026-03-02" } }))).toEqual([m2]);
    expect(await idsOf(await search(key, { emailerMessageDateRange: { min: "2026-03-02" } }))).toEqual([m2, m3].sort());
    expect(await idsOf(await search(key, { emailer_message_date_range: { max: "2026-03-01T23:59:59Z" } }))).toEqual([m1]);
    expect(
      await idsOf(await search(key, {}, "?emailer_message_date_range[min]=2026-03-01&emailer_message_date_range[max]=2026-03-02")),
    ).toEqual([m1, m2].sort());
    expect(
      await idsOf(await search(key, {}, "?emailerMessageDateRange[max]=2026-03-01&emailer_message_date_range_mode=completed_at")),
    ).toEqual([m1]);
  });

  it("due_at reads the scheduled time", async () => {
    const { key, ids } = await setup();
    const [m1, m2] = ids;
    // Scheduled on 28 Feb, 1 Mar and 2 Mar.
    const body = { emailer_message_date_range: { min: "2026-03-01", max: "2026-03-01" }, emailer_message_date_range_mode: "due_at" };
    expect(await idsOf(await search(key, body))).toEqual([m2]);
    expect(await idsOf(await search(key, { ...body, emailer_message_date_range_mode: "completed_at" }))).toEqual([m1]);
  });

  it("refuses a date it can't read, naming the field", async () => {
    const { key } = await setup();
    for (const [body, field] of [
      [{ emailer_message_date_range: { min: "yesterday" } }, "emailer_message_date_range[min]"],
      [{ emailerMessageDateRange: { max: "2026-02-30" } }, "emailerMessageDateRange[max]"],
      [{ emailer_message_date_range: { min: "2026-03-05", max: "2026-03-01" } }, "emailer_message_date_range[min]"],
      [
        { emailer_message_date_range: { min: "2026-03-01" }, emailer_message_date_range_mode: "created_at" },
        "emailer_message_date_range_mode",
      ],
    ] as const) {
      const err = await errorOf(await search(key, body));
      expect(err, field).toMatchObject({ status: 422, code: "validation_failed" });
      expect(fieldsOf(err)[0]!.field, JSON.stringify(body)).toBe(field);
    }
  });

  it("reads the sent-time range down messages_team_sent_idx", async () => {
    const { key } = await setup();
    const counted = countingD1(env.DB, { rowsOfRaw: true });
    const ctx = createExecutionContext();
    const res = await app.request(
      `http://seqflare.test${BASE}/emailer_messages/search?emailer_message_date_range[min]=2026-03-01&emailer_message_date_range[max]=2026-03-02`,
      { headers: { "x-api-key": key } },
      { ...env, DB: counted.db },
      ctx,
    );
    expect(res.status).toBe(200);
    await waitOnExecutionContext(ctx);
    const reads = counted.count.queries.filter((q) => /from "messages"/i.test(q.sql) && /"sent_at" >=/.test(q.sql));
    expect(reads.length, counted.count.statements.join("\n")).toBe(2);
    for (const q of reads) {
      const plan = (
        await env.DB.prepare(`EXPLAIN QUERY PLAN ${q.sql}`)
          .bind(...q.params)
          .all<{ detail: string }>()
      ).results
        .map((x) => x.detail)
        .join("; ");
      expect(plan).toMatch(/SEARCH messages USING (?:COVERING )?INDEX messages_team_sent_idx \(team_id=\? AND sent_at>\? AND sent_at<\?\)/);
      expect(plan).not.toMatch(/SCAN messages/);
    }
  });
});
