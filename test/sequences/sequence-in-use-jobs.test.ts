// The sequence menu offered "Delete… Nobody was ever added to it" for a sequence an add-contacts job named (a
// scheduled add, or one that added nobody), which the delete refuses (409 sequence_has_history): in_use counts
// those jobs too (add_pending while the add has not finished, add_history after; never "contacts" for nobody). hasHistory's and in_use's job check finds them by the jobs(team_id, sequence_id) index, not by
// walking the team's jobs (workflows make one per run).
import { sql } from "drizzle-orm";
import { SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Caller } from "../../worker/env";
import { commitAddContacts } from "../../worker/services/add-contacts/jobs";
import { inUseSql } from "../../worker/services/sequences";
import { client, env, errorOf, ok } from "../helpers";
import { addContactsSetup, makeContacts, startSimulation } from "../fixtures";

describe("a sequence with only a scheduled add", () => {
  beforeEach(() => startSimulation());

  it("is in use (add_pending) on the list and the editor, as the delete that refuses it says", async () => {
    const x = await addContactsSetup();
    const [c] = await makeContacts(x.teamId, 1);
    const caller: Caller = { teamId: x.teamId, userId: x.userId, role: "admin", via: "session" };
    const api = client(x.s).api;
    const before = await ok(api.sequences[":id"].$get({ param: { id: x.sequenceId } }));
    expect(before.sequence.in_use).toBeNull();

    await commitAddContacts(
      env,
      db(env.DB),
      caller,
      x.sequenceId,
      { source: { contact_ids: [c!] }, mailbox_ids: x.mailboxIds, skip_validation: false, enrich: false, add_at: Date.now() + 86_400_000 },
      null,
      "session",
    );
    expect(await env.DB.prepare("SELECT count(*) n FROM enrollments WHERE sequence_id = ?").bind(x.sequenceId).first("n")).toBe(0);

    const listed = await ok(api.sequences.$get({ query: {} }));
    expect(listed.sequences.find((s) => s.id === x.sequenceId)?.in_use).toBe("add_pending");
    const one = await ok(api.sequences[":id"].$get({ param: { id: x.sequenceId } }));
    expect(one.sequence.in_use).toBe("add_pending");
    const refused = await api.sequences[":id"].$delete({ param: { id: x.sequenceId } });
    expect(await errorOf(refused)).toMatchObject({ status: 409, code: "sequence_has_history" });
  });

  it("the job check searches the jobs(team_id, sequence_id) index", async () => {
    const x = await addContactsSetup();
    const q = new SQLiteSyncDialect().sqlToQuery(sql`SELECT ${inUseSql(x.teamId, x.sequenceId)} AS in_use`);
    const plan = (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${q.sql}`)
        .bind(...q.params)
        .all<{ detail: string }>()
    ).results.map((r) => r.detail);
    expect(plan.join("; ")).toMatch(/SEARCH j USING (?:COVERING )?INDEX jobs_team_sequence_idx \(team_id=\? AND sequence_id=\?\)/);
  });
});
