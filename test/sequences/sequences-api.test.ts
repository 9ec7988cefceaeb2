import { describe, expect, it } from "vitest";
import { seedId } from "../../worker/seed/random";
import { as, env, errorOf, login, withKey } from "../helpers";

const SEQ1 = seedId(0x0a, 1); // Demo "Enterprise outbound — Q4": owner admin, rep1 edit, rep2 view
const json = async (r: Response) => (await r.json()) as any;

async function newSequence(s: Awaited<ReturnType<typeof login>>, name = `Seq ${crypto.randomUUID()}`) {
  const res = await as(s, "POST", "/api/sequences", { name });
  expect(res.status).toBe(201);
  return (await json(res)).sequence;
}

describe("sequences", () => {
  it("creates an inactive sequence owned by the caller and lists it", async () => {
    const rep = await login("rep1@demo.test");
    const seq = await newSequence(rep, "Rep's outbound");
    expect(seq).toMatchObject({ name: "Rep's outbound", active: false, owner_id: rep.userId, access: "owner", steps: [] });
    const row = await env.DB.prepare("select team_id, active from sequences where id = ?").bind(seq.id).first<any>();
    expect(row).toEqual({ team_id: rep.teamId, active: 0 });
    const list = await json(await as(rep, "GET", "/api/sequences?q=Rep%27s"));
    expect(list.sequences.map((x: any) => x.id)).toContain(seq.id);
  });

  it("adds steps of every kind in order, with waits, and inserts before a position", async () => {
    const s = await login("admin@demo.test");
    const seq = await newSequence(s);
    const add = (body: any) => as(s, "POST", `/api/sequences/${seq.id}/steps`, body);
    expect(
      (await add({ type: "auto_email", variants: [{ subject: "Hi {{first_name}}", body: "About {{company|your team}}" }] })).status,
    ).toBe(201);
    expect((await add({ type: "call", wait_amount: 2, wait_unit: "days", business_days: true, note: "Call them" })).status).toBe(201);
    expect(
      (await add({ type: "auto_email", wait_amount: 3, thread_reply: true, variants: [{ subject: "", body: "Following up" }] })).status,
    ).toBe(201);
    const res = await add({ type: "linkedin_connect", wait_amount: 1, position: 2 });
    const steps = (await json(res)).sequence.steps;
    expect(steps.map((x: any) => [x.position, x.type])).toEqual([
      [1, "auto_email"],
      [2, "linkedin_connect"],
      [3, "call"],
      [4, "auto_email"],
    ]);
    expect(steps[2]).toMatchObject({ wait_amount: 2, wait_unit: "days", business_days: true, note: "Call them" });
    expect(steps[3].thread_reply).toBe(true);
    const rows = await env.DB.prepare("select position from steps where sequence_id = ? order by position").bind(seq.id).all<any>();
    expect(rows.results.map((r: any) => r.position)).toEqual([1, 2, 3, 4]);
  });

  it("refuses unknown template variables when saving, naming the field", async () => {
    const s = await login("admin@demo.test");
    const seq = await newSequence(s);
    const res = await as(s, "POST", `/api/sequences/${seq.id}/steps`, {
      type: "auto_email",
      variants: [{ subject: "Hi {{favorite_color}}", body: "ok" }],
    });
    const err = await errorOf(res);
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(err.details.fields[0].field).toBe("variants.0.subject");
    expect(err.details.fields[0].message).toMatch(/favorite_color/);
    const n = await env.DB.prepare("select count(*) n from steps where sequence_id = ?").bind(seq.id).first<any>();
    expect(n.n).toBe(0);
  });

  it("refuses a same-thread reply as the first step", async () => {
    const s = await login("admin@demo.test");
    const seq = await newSequence(s);
    const err = await errorOf(
      await as(s, "POST", `/api/sequences/${seq.id}/steps`, {
        type: "auto_email",
        thread_reply: true,
        variants: [{ subject: "", body: "x" }],
      }),
    );
    expect(err.details.fields[0].field).toBe("thread_reply");
  });

  it("reorders, toggles and deletes steps; A/B variants can be added and toggled", async () => {
    const s = await login("admin@demo.test");
    const seq = await newSequence(s);
    await as(s, "POST", `/api/sequences/${seq.id}/steps`, { type: "auto_email", variants: [{ subject: "A", body: "a" }] });
    const two = (await json(await as(s, "POST", `/api/sequences/${seq.id}/steps`, { type: "task", wait_amount: 1 }))).sequence.steps;
    const [e, t] = two;
    const reordered = (await json(await as(s, "POST", `/api/sequences/${seq.id}/steps/reorder`, { step_ids: [t.id, e.id] }))).sequence
      .steps;
    expect(reordered.map((x: any) => x.id)).toEqual([t.id, e.id]);
    expect((await errorOf(await as(s, "POST", `/api/sequences/${seq.id}/steps/reorder`, { step_ids: [t.id] }))).status).toBe(422);
    const off = (await json(await as(s, "PATCH", `/api/sequences/${seq.id}/steps/${e.id}`, { enabled: false }))).sequence.steps;
    expect(off.find((x: any) => x.id === e.id).enabled).toBe(false);
    const withB = (await json(await as(s, "POST", `/api/sequences/${seq.id}/steps/${e.id}/variants`, { subject: "B", body: "b" }))).sequence
      .steps;
    const variants = withB.find((x: any) => x.id === e.id).variants;
    expect(variants.map((v: any) => v.label)).toEqual(["A", "B"]);
    const vA = variants[0].id;
    const offA = await as(s, "PATCH", `/api/sequences/${seq.id}/steps/${e.id}/variants/${vA}`, { enabled: false });
    expect(offA.status, await offA.clone().text()).toBe(200);
    const vB = variants[1].id;
    expect((await errorOf(await as(s, "PATCH", `/api/sequences/${seq.id}/steps/${e.id}/variants/${vB}`, { enabled: false }))).status).toBe(
      422,
    );
    const after = (await json(await as(s, "DELETE", `/api/sequences/${seq.id}/steps/${t.id}`))).sequence.steps;
    expect(after.map((x: any) => [x.id, x.position])).toEqual([[e.id, 1]]);
  });

  it("renames, toggles active, clones and archives", async () => {
    const s = await login("admin@demo.test");
    const seq = await newSequence(s);
    await as(s, "POST", `/api/sequences/${seq.id}/steps`, { type: "auto_email", variants: [{ subject: "A", body: "a" }] });
    const on = (await json(await as(s, "PATCH", `/api/sequences/${seq.id}`, { name: "Renamed", active: true }))).sequence;
    expect(on).toMatchObject({ name: "Renamed", active: true });
    const clone = (await json(await as(s, "POST", `/api/sequences/${seq.id}/clone`, {}))).sequence;
    expect(clone).toMatchObject({ name: "Renamed (copy)", active: false });
    expect(clone.steps).toHaveLength(1);
    expect(clone.steps[0].id).not.toBe(on.steps[0].id);
    expect(clone.steps[0].variants[0].subject).toBe("A");
    const archived = (await json(await as(s, "POST", `/api/sequences/${seq.id}/archive`))).sequence;
    expect(archived.active).toBe(false);
    expect(archived.archived_at).toBeGreaterThan(0);
    expect((await errorOf(await as(s, "PATCH", `/api/sequences/${seq.id}`, { active: true }))).status).toBe(409);
    const list = await json(await as(s, "GET", "/api/sequences?status=archived"));
    expect(list.sequences.map((x: any) => x.id)).toContain(seq.id);
  });
});

describe("sequence sharing and access", () => {
  it("a view-only user can read but not change a shared sequence (403); an editor can", async () => {
    const viewer = await login("rep2@demo.test");
    const editor = await login("rep1@demo.test");
    const read = await json(await as(viewer, "GET", `/api/sequences/${SEQ1}`));
    expect(read.sequence.access).toBe("view");
    expect(await errorOf(await as(viewer, "PATCH", `/api/sequences/${SEQ1}`, { name: "hijack" }))).toMatchObject({
      status: 403,
      code: "forbidden",
    });
    expect((await as(viewer, "POST", `/api/sequences/${SEQ1}/steps`, { type: "task" })).status).toBe(403);
    const name = await env.DB.prepare("select name from sequences where id = ?").bind(SEQ1).first<any>();
    expect(name.name).toBe("Enterprise outbound — Q4");
    expect((await json(await as(editor, "GET", `/api/sequences/${SEQ1}`))).sequence.access).toBe("edit");
    // editors can't change sharing
    expect((await as(editor, "PUT", `/api/sequences/${SEQ1}/shares`, { shares: [] })).status).toBe(403);
  });

  it("a member doesn't see a sequence nobody shared with them: 404", async () => {
    const owner = await login("rep1@demo.test");
    const seq = await newSequence(owner);
    const other = await login("rep2@demo.test");
    expect((await as(other, "GET", `/api/sequences/${seq.id}`)).status).toBe(404);
    const list = await json(await as(other, "GET", "/api/sequences?per_page=100"));
    expect(list.sequences.map((x: any) => x.id)).not.toContain(seq.id);
    // sharing it makes it visible
    await as(owner, "PUT", `/api/sequences/${seq.id}/shares`, { shares: [{ user_id: other.userId, access: "view" }] });
    expect((await as(other, "GET", `/api/sequences/${seq.id}`)).status).toBe(200);
  });

  it("another team's sequence answers 404, to reads and writes", async () => {
    const rival = await login("admin@rival.test");
    expect((await as(rival, "GET", `/api/sequences/${SEQ1}`)).status).toBe(404);
    expect((await as(rival, "PATCH", `/api/sequences/${SEQ1}`, { active: false })).status).toBe(404);
    expect((await withKey("rival-master-key", "GET", `/api/sequences/${SEQ1}/enrollments`)).status).toBe(404);
    expect((await as(rival, "POST", `/api/sequences/${SEQ1}/enrollments/pause`, { enrollment_ids: ["x"] })).status).toBe(404);
  });

  it("sharing with a user of another team is refused", async () => {
    const s = await login("admin@demo.test");
    const seq = await newSequence(s);
    const rival = await login("admin@rival.test");
    const err = await errorOf(
      await as(s, "PUT", `/api/sequences/${seq.id}/shares`, { shares: [{ user_id: rival.userId, access: "edit" }] }),
    );
    expect(err.status).toBe(422);
  });
});

describe("schedules", () => {
  it("creates a schedule, validates windows and time zones, and won't delete one in use", async () => {
    const s = await login("admin@demo.test");
    const bad = await errorOf(await as(s, "POST", "/api/schedules", { name: "Bad", time_zone: "Mars/Olympus", windows: {} }));
    expect(bad.details.fields[0].field).toBe("time_zone");
    const overlap = await errorOf(
      await as(s, "POST", "/api/schedules", {
        name: "Overlap",
        time_zone: "Europe/Berlin",
        windows: {
          "1": [
            ["09:00", "12:00"],
            ["11:00", "13:00"],
          ],
        },
      }),
    );
    expect(overlap.status).toBe(422);
    const res = await as(s, "POST", "/api/schedules", {
      name: `Berlin ${crypto.randomUUID()}`,
      time_zone: "Europe/Berlin",
      windows: { "1": [["09:00", "12:00"]], "3": [["14:00", "18:00"]] },
      holiday_calendar: "GB",
      holidays: ["2027-01-04"],
    });
    expect(res.status).toBe(201);
    const sched = (await json(res)).schedule;
    expect(sched.next_window_at).toBeGreaterThan(0);
    const seq = await newSequence(s);
    await as(s, "PATCH", `/api/sequences/${seq.id}`, { schedule_id: sched.id });
    expect((await errorOf(await as(s, "DELETE", `/api/schedules/${sched.id}`))).status).toBe(409);
    const hol = await json(await as(s, "GET", "/api/schedules/holidays?calendar=US&year=2026"));
    expect(hol.holidays.map((h: any) => h.date)).toContain("2026-11-26");
  });
});
