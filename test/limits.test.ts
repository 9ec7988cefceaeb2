import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../worker/lib/clock";
import { newId } from "../worker/lib/ids";
import { as, call, env, errorOf } from "./helpers";
import { addContactsSetup, enroll, makeContacts } from "./fixtures";
import { MAX_STEPS_PER_SEQUENCE } from "../worker/routes/steps";

const json = async (r: Response) => (await r.json()) as any;

/** A master and a standard key for a team, made the way an admin makes them. */
export async function keysFor(teamId: string, userId: string) {
  const { sha256Hex } = await import("../worker/lib/crypto");
  const master = `m-${crypto.randomUUID()}`;
  const standard = `s-${crypto.randomUUID()}`;
  for (const [k, kind] of [[master, "master"], [standard, "standard"]] as const) {
    await env.DB.prepare("INSERT INTO api_keys (id, team_id, created_by, name, kind, key_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0)")
      .bind(crypto.randomUUID(), teamId, userId, kind, kind, await sha256Hex(k), k.slice(0, 9)).run();
  }
  return { master, standard };
}

const apollo = (key: string, path: string, body: unknown) =>
  call(`/apollo/api/v1${path}`, { method: "POST", headers: { "x-api-key": key, "content-type": "application/json" }, body: JSON.stringify(body) });

beforeEach(() => resetClock());

describe("lists longer than D1's 100 bound parameters", () => {
  it("pauses 150 enrollments in one request, and answers 404 (not 500) for the documented maximum of 1,000 ids", async () => {
    const x = await addContactsSetup();
    const contacts = await makeContacts(x.teamId, 150);
    await enroll(x.teamId, x.sequenceId, contacts, x.mailboxIds);
    const ids = (await env.DB.prepare("SELECT id FROM enrollments WHERE sequence_id = ?").bind(x.sequenceId).all<{ id: string }>()).results.map((r) => r.id);
    expect(ids).toHaveLength(150);

    const res = await as(x.s, "POST", `/api/sequences/${x.sequenceId}/enrollments/pause`, { enrollment_ids: ids });
    expect(res.status).toBe(200);
    expect((await json(res)).changed).toHaveLength(150);
    const paused = await env.DB.prepare("SELECT count(*) AS n FROM enrollments WHERE sequence_id = ? AND status = 'paused'").bind(x.sequenceId).first<{ n: number }>();
    expect(paused!.n).toBe(150);

    const atMax = [...ids, ...Array.from({ length: 1000 - ids.length }, () => newId())];
    const err = await errorOf(await as(x.s, "POST", `/api/sequences/${x.sequenceId}/enrollments/resume`, { enrollment_ids: atMax }));
    expect(err).toMatchObject({ status: 404, code: "not_found" });
    const over = await errorOf(await as(x.s, "POST", `/api/sequences/${x.sequenceId}/enrollments/resume`, { enrollment_ids: [...atMax, newId()] }));
    expect(over).toMatchObject({ status: 422, code: "validation_failed" });
  });

  it("answers 422 naming the unknown users when shares list 150 of them, never 500", async () => {
    const x = await addContactsSetup();
    const shares = Array.from({ length: 150 }, () => ({ user_id: newId(), access: "view" }));
    const err = await errorOf(await as(x.s, "PUT", `/api/sequences/${x.sequenceId}/shares`, { shares }));
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(err.details.fields[0].field).toMatch(/shares/);
  });

  it("searches people (Apollo mixed_people/search) with 100 person_titles", async () => {
    const x = await addContactsSetup();
    const { master } = await keysFor(x.teamId, x.userId);
    const titles = ["Engineer", ...Array.from({ length: 99 }, (_, i) => `No Such Title ${i}`)];
    const res = await apollo(master, "/mixed_people/search", { person_titles: titles, per_page: 5 });
    expect(res.status).toBe(200);
    const body = await json(res);
    const expected = (await env.DB.prepare("SELECT count(*) AS n FROM people WHERE title LIKE '%Engineer%'").first<{ n: number }>())!.n;
    expect(body.pagination.total_entries).toBe(expected);
  });
});

describe("steps per sequence", () => {
  it("refuses a step beyond the cap of 50 (422), and nothing is written", async () => {
    const x = await addContactsSetup({ steps: Array.from({ length: MAX_STEPS_PER_SEQUENCE - 1 }, () => ({ wait: 1 })) });
    const ok = await as(x.s, "POST", `/api/sequences/${x.sequenceId}/steps`, { type: "call" });
    expect(ok.status).toBe(201);
    expect((await json(ok)).sequence.steps).toHaveLength(MAX_STEPS_PER_SEQUENCE);
    const err = await errorOf(await as(x.s, "POST", `/api/sequences/${x.sequenceId}/steps`, { type: "call" }));
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(err.details.fields[0].field).toBe("steps");
    const n = await env.DB.prepare("SELECT count(*) AS n FROM steps WHERE sequence_id = ?").bind(x.sequenceId).first<{ n: number }>();
    expect(n!.n).toBe(MAX_STEPS_PER_SEQUENCE);
  });

  it("still reads, clones and archives a sequence stored with more steps than 100 (written before the cap)", async () => {
    const x = await addContactsSetup({ steps: Array.from({ length: 101 }, () => ({ wait: 1 })) });
    const read = await as(x.s, "GET", `/api/sequences/${x.sequenceId}`);
    expect(read.status).toBe(200);
    expect((await json(read)).sequence.steps).toHaveLength(101);
    const clone = await as(x.s, "POST", `/api/sequences/${x.sequenceId}/clone`, {});
    expect(clone.status).toBe(201);
    const copy = (await json(clone)).sequence;
    expect(copy.steps).toHaveLength(101);
    expect(copy.steps.every((s: any) => s.variants.length === 1)).toBe(true);
    const archived = await as(x.s, "POST", `/api/sequences/${x.sequenceId}/archive`);
    expect(archived.status).toBe(200);
    expect((await json(archived)).sequence.archived_at).not.toBeNull();
  });

  it("answers 422 'nothing to change' to an empty step update and leaves the step as it was", async () => {
    const x = await addContactsSetup();
    const before = await env.DB.prepare("SELECT * FROM steps WHERE id = ?").bind(x.stepIds[1]).first();
    const audits = async () => (await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE team_id = ?").bind(x.teamId).first<{ n: number }>())!.n;
    const auditsBefore = await audits();
    const err = await errorOf(await as(x.s, "PATCH", `/api/sequences/${x.sequenceId}/steps/${x.stepIds[1]}`, {}));
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(err.message).toMatch(/nothing to change/i);
    expect(await env.DB.prepare("SELECT * FROM steps WHERE id = ?").bind(x.stepIds[1]).first()).toEqual(before);
    expect(await audits()).toBe(auditsBefore);
  });
});
