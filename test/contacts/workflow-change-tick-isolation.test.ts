import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { runDueWorkflows } from "../../worker/services/workflows";
import { client, env, errorOf, ok } from "../helpers";
import { addContactsSetup } from "../fixtures";

beforeEach(() => resetClock());

const first = <T>(sql: string, ...b: unknown[]) =>
  env.DB.prepare(sql)
    .bind(...b)
    .first<T>();

/** A team with a "Qualified" stage and an active change workflow adding contacts who enter it (filters as given). */
async function team(filters: Record<string, unknown>) {
  const x = await addContactsSetup({ credits: 100 });
  const qualified = `${x.teamId}-qualified`;
  await env.DB.prepare("INSERT INTO contact_stages (id, team_id, name, category, position) VALUES (?, ?, 'Qualified', 'in_progress', 2)")
    .bind(qualified, x.teamId)
    .run();
  const api = client(x.s).api;
  const { workflow } = await ok(
    api.workflows.$post({
      json: { name: "Qualified", sequence_id: x.sequenceId, active: true, trigger: { kind: "change", on: ["stage"], filters } },
    }),
    201,
  );
  const { contact } = await ok(
    api.contacts.$post({
      json: { first_name: "Ada", last_name: "L", email: `ada@${x.teamId}.test`, email_status: "verified", title: "Chief Revenue Officer" },
    }),
    201,
  );
  const qualify = () => ok(api.contacts.stage.$post({ json: { contact_ids: [contact.id], stage_id: qualified } }));
  return { ...x, api, workflow, contact, qualify };
}

describe("a change workflow's tick", () => {
  it("with fifty titles of several words runs (one bound parameter for them all), moves its cursor and adds the contact", async () => {
    const titles = Array.from({ length: 49 }, (_, i) => `Head Number${i}`).concat("Chief Revenue Officer");
    const x = await team({ titles });
    await x.qualify();
    await runDueWorkflows(env);
    const run = await first<{ status: string; contact_id: string; job_id: string | null }>(
      "SELECT status, contact_id, job_id FROM workflow_runs WHERE workflow_id = ?",
      x.workflow.id,
    );
    expect(run).toMatchObject({ status: "completed", contact_id: x.contact.id });
    expect(run!.job_id).not.toBeNull();
    const wf = await first<{ change_cursor: number; active: number }>(
      "SELECT change_cursor, active FROM workflows WHERE id = ?",
      x.workflow.id,
    );
    expect(wf!.change_cursor).toBeGreaterThan(0);
    expect(wf!.active).toBe(1);
  });

  it("refuses a title of more than 12 words (422 naming trigger.filters.titles)", async () => {
    const x = await addContactsSetup();
    const res = await client(x.s).api.workflows.$post({
      json: {
        name: "Wordy",
        sequence_id: x.sequenceId,
        trigger: { kind: "change", on: ["stage"], filters: { titles: ["a1 b2 c3 d4 e5 f6 g7 h8 i9 j10 k11 l12 m13"] } },
      },
    });
    expect(res.status).toBe(422);
    expect(JSON.stringify(await errorOf(res))).toContain("trigger.filters.titles");
  });

  it("that fails is looked at after the others next tick, so other teams' still run, and is turned off after three in a row, saying why", async () => {
    // Fifty workflows whose tick always fails (a claim D1 refuses), first in the tick's order.
    const bad = await team({});
    const row = (await first<Record<string, unknown>>("SELECT * FROM workflows WHERE id = ?", bad.workflow.id))!;
    const cols = Object.keys(row);
    await env.DB.batch(
      Array.from({ length: 50 }, (_, i) => {
        const copy = {
          ...row,
          id: `00000bad${String(i).padStart(2, "0")}${bad.workflow.id.slice(10)}`,
          name: `Bad ${i}`,
          change_cursor: 0,
        };
        return env.DB.prepare(`INSERT INTO workflows (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`).bind(
          ...cols.map((c) => copy[c as keyof typeof copy] ?? null),
        );
      }),
    );
    await env.DB.prepare(
      `CREATE TRIGGER bad_claims BEFORE INSERT ON workflow_runs WHEN NEW.workflow_id LIKE '00000bad%' BEGIN SELECT RAISE(ABORT, 'simulated failure'); END`,
    ).run();
    await env.DB.prepare("UPDATE workflows SET active = 0 WHERE id = ?").bind(bad.workflow.id).run();
    await bad.qualify();
    const good = await team({});
    await good.qualify();
    // The first tick takes the fifty (they fail); the next one takes the others first.
    await runDueWorkflows(env);
    expect(await first("SELECT 1 FROM workflow_runs WHERE workflow_id = ?", good.workflow.id)).toBeNull();
    await runDueWorkflows(env);
    const goodRun = await first<{ status: string }>("SELECT status FROM workflow_runs WHERE workflow_id = ?", good.workflow.id);
    expect(goodRun?.status).toBe("completed");
    // A failure that passes is tried again; three ticks in a row failed turn the workflow off, saying why.
    expect(await first("SELECT 1 FROM workflows WHERE id LIKE '00000bad%' AND active = 0")).toBeNull();
    // (One of the fifty gave its place to the other team's workflow in the second tick: it fails a fourth.)
    await runDueWorkflows(env);
    await runDueWorkflows(env);
    const off = await first<{ n: number; reasons: string }>(
      "SELECT count(*) n, group_concat(DISTINCT off_reason) reasons FROM workflows WHERE id LIKE '00000bad%' AND active = 0",
    );
    expect(off).toEqual({ n: 50, reasons: "check_failed" });
  });
});
