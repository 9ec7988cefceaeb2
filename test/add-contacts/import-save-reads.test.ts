// Saving a CSV part reads what the part needs, not the team's whole address book: a team with many
// contacts must not pay for all of them on every 5,000-row part (issue 11's 100,000-row import).
import { describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { countingD1 } from "../../worker/middleware/d1-count";
import { savePart } from "../../worker/services/imports/process";
import type { Env } from "../../worker/env";
import type { QueueMessage } from "../../worker/queue/messages";
import { client, env, ok } from "../helpers";
import { addContactsSetup, makeContacts } from "../fixtures";

describe("saving an import part", () => {
  it("finds the team's contacts by email through the email index, and matches the oldest of two with one address", async () => {
    const { s, teamId } = await addContactsSetup();
    await makeContacts(teamId, 3_000);
    // Two contacts share an address: the import updates the older one, as before.
    const t = Date.now();
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO contacts (id, team_id, first_name, last_name, email, created_at, updated_at) VALUES ('old-ada', ?, 'Ada', '', 'ada@example.com', ?, ?)",
      ).bind(teamId, t - 10_000, t - 10_000),
      env.DB.prepare(
        "INSERT INTO contacts (id, team_id, first_name, last_name, email, created_at, updated_at) VALUES ('new-ada', ?, 'Ada', '', 'ada@example.com', ?, ?)",
      ).bind(teamId, t, t),
    ]);
    const rows = ["Email,First Name,Last Name,Company,Title"];
    for (let i = 0; i < 10; i++) rows.push(`lead${i}@example.org,Lead,${i},Acme,CTO`);
    rows.push("ada@example.com,Ada,Lovelace,Engines,Countess");
    const imp = (await ok(client(s).api.imports.$post({ form: { file: new File([rows.join("\n") + "\n"], "leads.csv") } }), 201)).import;
    // Run the one part here, through a D1 that counts the rows each statement reads.
    const part = (await env.DB.prepare("SELECT parts FROM imports WHERE id = ?").bind(imp.id).first<{ parts: string }>())!;
    const [p] = JSON.parse(part.parts) as { from: number; to: number; row: number }[];
    await env.DB.prepare("UPDATE imports SET status = 'saving', settings = ? WHERE id = ?")
      .bind(JSON.stringify({ match: "fill" }), imp.id)
      .run();
    const counted = countingD1(env.DB, { rowsOfRaw: true });
    await savePart({ ...env, DB: counted.db }, { kind: "import_part", importId: imp.id, part: 0, ...p! }, db(counted.db));

    const saved = await env.DB.prepare("SELECT status, saved FROM imports WHERE id = ?")
      .bind(imp.id)
      .first<{ status: string; saved: number }>();
    expect(saved).toMatchObject({ status: "ready", saved: 11 });
    const ada = await env.DB.prepare("SELECT id, company FROM contacts WHERE team_id = ? AND email = 'ada@example.com' ORDER BY created_at")
      .bind(teamId)
      .all<{ id: string; company: string | null }>();
    expect(ada.results).toEqual([
      { id: "old-ada", company: "Engines" },
      { id: "new-ada", company: null },
    ]);
    // 11 rows against 3,002 contacts: reading them all (a scan of the team in created order) was 3,000+ rows.
    expect(counted.count.rowsRead, counted.count.statements.join("\n")).toBeLessThan(600);
  });

  it("updates matched contacts by id, without walking the team's contacts for each row", async () => {
    const { s, teamId } = await addContactsSetup();
    await makeContacts(teamId, 3_000);
    const some = (
      await env.DB.prepare("SELECT id, email FROM contacts WHERE team_id = ? ORDER BY id LIMIT 11")
        .bind(teamId)
        .all<{ id: string; email: string }>()
    ).results;
    const rows = ["Email,First Name,Last Name,Company,Title", ...some.map((c, i) => `${c.email},New${i},Name${i},Newco,VP ${i}`)];
    const imp = (await ok(client(s).api.imports.$post({ form: { file: new File([rows.join("\n") + "\n"], "update.csv") } }), 201)).import;
    const part = (await env.DB.prepare("SELECT parts FROM imports WHERE id = ?").bind(imp.id).first<{ parts: string }>())!;
    const [p] = JSON.parse(part.parts) as { from: number; to: number; row: number }[];
    await env.DB.prepare("UPDATE imports SET status = 'saving', settings = ? WHERE id = ?")
      .bind(JSON.stringify({ match: "overwrite" }), imp.id)
      .run();
    const counted = countingD1(env.DB, { rowsOfRaw: true });
    await savePart({ ...env, DB: counted.db }, { kind: "import_part", importId: imp.id, part: 0, ...p! }, db(counted.db));

    const titles = (
      await env.DB.prepare("SELECT id, title, company FROM contacts WHERE team_id = ? AND company = 'Newco' ORDER BY id")
        .bind(teamId)
        .all<{ id: string; title: string }>()
    ).results;
    expect(titles.map((r) => r.id)).toEqual(some.map((c) => c.id));
    expect(titles.map((r) => r.title)).toEqual(some.map((_, i) => `VP ${i}`));
    // Before, the update went through the team's index and read all 3,000 contacts against the list.
    expect(counted.count.rowsRead, counted.count.statements.join("\n")).toBeLessThan(600);
  });

  it("a part that fails after the message saved the parts before it is not lost: trying the message again goes on from there", async () => {
    const { s: session, teamId } = await addContactsSetup();
    const rows = ["Email,First Name,Last Name"];
    for (let i = 0; i < 12_000; i++) rows.push(`p${i}@example.org,P,${i}`);
    const imp = (await ok(client(session).api.imports.$post({ form: { file: new File([rows.join("\n") + "\n"], "big.csv") } }), 201))
      .import;
    const parts = JSON.parse(
      (await env.DB.prepare("SELECT parts FROM imports WHERE id = ?").bind(imp.id).first<{ parts: string }>())!.parts,
    ) as { from: number; to: number; row: number }[];
    expect(parts).toHaveLength(3);
    await env.DB.prepare("UPDATE imports SET status = 'saving', settings = ? WHERE id = ?")
      .bind(JSON.stringify({ match: "fill" }), imp.id)
      .run();
    // D1 refuses the second part's writes once (the batch that would move parts_done to 2).
    let progressBatches = 0;
    const flaky = new Proxy(env.DB, {
      get(t, k) {
        if (k === "batch")
          return (stmts: D1PreparedStatement[]) => {
            const text = stmts.map((x) => (x as unknown as { statement: string }).statement).join(";");
            if (/UPDATE imports SET parts_done/.test(text) && ++progressBatches === 2) return Promise.reject(new Error("D1 is down"));
            return t.batch(stmts);
          };
        const v: unknown = Reflect.get(t, k);
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
    const sent: QueueMessage[] = [];
    const queue = { send: async (m: QueueMessage) => void sent.push(m) };
    const msg = { kind: "import_part" as const, importId: imp.id, part: 0, ...parts[0]! };
    const failed = await savePart({ ...env, DB: flaky, JOBS: queue } as unknown as Env, msg, db(flaky)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(String(failed)).toMatch(/D1 is down/);
    const state = () =>
      env.DB.prepare("SELECT status, parts_done, saved FROM imports WHERE id = ?")
        .bind(imp.id)
        .first<{ status: string; parts_done: number; saved: number }>();
    expect(await state()).toMatchObject({ status: "saving", parts_done: 1 });
    // The queue tries the same message again: it hands the second part on, and that message finishes the import.
    await savePart({ ...env, JOBS: queue } as unknown as Env, msg);
    expect(sent.map((m) => (m as { part: number }).part)).toEqual([1]);
    await savePart({ ...env, JOBS: queue } as unknown as Env, sent[0] as typeof msg);
    expect(await state()).toMatchObject({ status: "ready", parts_done: 3, saved: 12_000 });
    expect(
      (await env.DB.prepare("SELECT count(*) n FROM contacts WHERE team_id = ? AND email LIKE 'p%@example.org'")
        .bind(teamId)
        .first<{ n: number }>())!.n,
    ).toBe(12_000);
  });

  it("updates 2,000 contacts with long custom columns in writes under D1's 2 MB per bound value", async () => {
    const { s: session, teamId } = await addContactsSetup();
    const ids = await makeContacts(teamId, 2_000);
    const { results: existing } = await env.DB.prepare(
      "SELECT id, email FROM contacts WHERE team_id = ? AND id IN (SELECT value FROM json_each(?))",
    )
      .bind(teamId, JSON.stringify(ids))
      .all<{ id: string; email: string }>();
    // Five personalization lines of 250 characters each, accented (two bytes each in UTF-8).
    const line = (i: number, k: number) => `Line ${k} for ${i}: ` + "é".repeat(230);
    const rows = [
      "Email,Line1,Line2,Line3,Line4,Line5",
      ...existing.map((c, i) => [c.email, ...[1, 2, 3, 4, 5].map((k) => line(i, k))].join(",")),
    ];
    const imp = (await ok(client(session).api.imports.$post({ form: { file: new File([rows.join("\n") + "\n"], "lines.csv") } }), 201))
      .import;
    const [p] = JSON.parse(
      (await env.DB.prepare("SELECT parts FROM imports WHERE id = ?").bind(imp.id).first<{ parts: string }>())!.parts,
    ) as {
      from: number;
      to: number;
      row: number;
    }[];
    await env.DB.prepare("UPDATE imports SET status = 'saving', settings = ?, mapping = ? WHERE id = ?")
      .bind(
        JSON.stringify({ match: "overwrite" }),
        JSON.stringify(["email", "custom_field", "custom_field", "custom_field", "custom_field", "custom_field"]),
        imp.id,
      )
      .run();
    // Local D1 takes larger values than the deployed one: every bound value is measured here instead.
    let largest = 0;
    const enc = new TextEncoder();
    const measured = new Proxy(env.DB, {
      get(t, k) {
        if (k === "prepare")
          return (q: string) => {
            const stmt = t.prepare(q);
            const bind = stmt.bind.bind(stmt);
            stmt.bind = (...a: unknown[]) => {
              for (const v of a) if (typeof v === "string") largest = Math.max(largest, enc.encode(v).length);
              return bind(...a);
            };
            return stmt;
          };
        const v: unknown = Reflect.get(t, k);
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
    await savePart({ ...env, DB: measured }, { kind: "import_part", importId: imp.id, part: 0, ...p! }, db(measured));
    expect(await env.DB.prepare("SELECT status, error FROM imports WHERE id = ?").bind(imp.id).first()).toMatchObject({ status: "ready" });
    // D1's limit per bound value is 2,000,000 bytes: the 2,000 updates as one value were about 5 MB.
    expect(largest).toBeGreaterThan(500_000);
    expect(largest).toBeLessThanOrEqual(1_000_000);
    const sample = await env.DB.prepare("SELECT custom_fields FROM contacts WHERE id = ?")
      .bind(existing[1_999]!.id)
      .first<{ custom_fields: string }>();
    expect(JSON.parse(sample!.custom_fields)).toMatchObject({ line5: line(1_999, 5) });
  });
});
