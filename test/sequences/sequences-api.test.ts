import { describe, expect, it } from "vitest";
import { resetClock, setClock } from "../../worker/lib/clock";
import { seedId } from "../../worker/seed/random";
import { client, env, errorOf, fieldsOf, login, ok, type Session } from "../helpers";

const SEQ1 = seedId(0x0a, 1); // Demo "Enterprise outbound — Q4": owner admin, rep1 edit, rep2 view

type Api = ReturnType<typeof client>["api"];
type StepBody = Parameters<Api["sequences"][":id"]["steps"]["$post"]>[0]["json"];

async function newSequence(s: Session, name = `Seq ${crypto.randomUUID()}`) {
  return (await ok(client(s).api.sequences.$post({ json: { name } }), 201)).sequence;
}

describe("sequences", () => {
  it("creates an inactive sequence owned by the caller and lists it", async () => {
    const rep = await login("rep1@demo.test");
    const seq = await newSequence(rep, "Rep's outbound");
    expect(seq).toMatchObject({ name: "Rep's outbound", active: false, owner_id: rep.userId, access: "owner", steps: [] });
    const row = await env.DB.prepare("select team_id, active from sequences where id = ?")
      .bind(seq.id)
      .first<{ team_id: string; active: number }>();
    expect(row).toEqual({ team_id: rep.teamId, active: 0 });
    const list = await ok(client(rep).api.sequences.$get({ query: { q: "Rep's" } }));
    expect(list.sequences.map((x) => x.id)).toContain(seq.id);
  });

  it("adds steps of every kind in order, with waits, and inserts before a position", async () => {
    const s = await login("admin@demo.test");
    const seq = await newSequence(s);
    const add = (json: StepBody) => client(s).api.sequences[":id"].steps.$post({ param: { id: seq.id }, json });
    expect(
      (await add({ type: "auto_email", variants: [{ subject: "Hi {{first_name}}", body: "About {{company|your team}}" }] })).status,
    ).toBe(201);
    expect((await add({ type: "call", wait_amount: 2, wait_unit: "days", business_days: true, note: "Call them" })).status).toBe(201);
    expect(
      (await add({ type: "auto_email", wait_amount: 3, thread_reply: true, variants: [{ subject: "", body: "Following up" }] })).status,
    ).toBe(201);
    const steps = (await ok(add({ type: "linkedin_connect", wait_amount: 1, position: 2 }), 201)).sequence.steps;
    expect(steps.map((x) => [x.position, x.type])).toEqual([
      [1, "auto_email"],
      [2, "linkedin_connect"],
      [3, "call"],
      [4, "auto_email"],
    ]);
    expect(steps[2]).toMatchObject({ wait_amount: 2, wait_unit: "days", business_days: true, note: "Call them" });
    expect(steps[3]!.thread_reply).toBe(true);
    const rows = await env.DB.prepare("select position from steps where sequence_id = ? order by position")
      .bind(seq.id)
      .all<{ position: number }>();
    expect(rows.results.map((r) => r.position)).toEqual([1, 2, 3, 4]);
  });

  it("refuses unknown template variables when saving, naming the field", async () => {
    const s = await login("admin@demo.test");
    const seq = await newSequence(s);
    const res = await client(s).api.sequences[":id"].steps.$post({
      param: { id: seq.id },
      json: { type: "auto_email", variants: [{ subject: "Hi {{favorite_color}}", body: "ok" }] },
    });
    const err = await errorOf(res);
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(err)[0]!.field).toBe("variants.0.subject");
    expect(fieldsOf(err)[0]!.message).toMatch(/favorite_color/);
    const n = await env.DB.prepare("select count(*) n from steps where sequence_id = ?").bind(seq.id).first<{ n: number }>();
    expect(n!.n).toBe(0);
  });

  it("refuses a same-thread reply as the first step", async () => {
    const s = await login("admin@demo.test");
    const seq = await newSequence(s);
    const err = await errorOf(
      await client(s).api.sequences[":id"].steps.$post({
        param: { id: seq.id },
        json: { type: "auto_email", thread_reply: true, variants: [{ subject: "", body: "x" }] },
      }),
    );
    expect(fieldsOf(err)[0]!.field).toBe("thread_reply");
  });

  it("reorders, toggles and deletes steps; A/B variants can be added and toggled", async () => {
    const s = await login("admin@demo.test");
    const seq = await newSequence(s);
    const steps = client(s).api.sequences[":id"].steps;
    const param = { id: seq.id };
    await steps.$post({ param, json: { type: "auto_email", variants: [{ subject: "A", body: "a" }] } });
    const two = (await ok(steps.$post({ param, json: { type: "task", wait_amount: 1 } }), 201)).sequence.steps;
    const [e, t] = [two[0]!, two[1]!];
    const reordered = (await ok(steps.reorder.$post({ param, json: { step_ids: [t.id, e.id] } }))).sequence.steps;
    expect(reordered.map((x) => x.id)).toEqual([t.id, e.id]);
    expect((await errorOf(await steps.reorder.$post({ param, json: { step_ids: [t.id] } }))).status).toBe(422);
    const step = (stepId: string) => ({ id: seq.id, stepId });
    const off = (await ok(steps[":stepId"].$patch({ param: step(e.id), json: { enabled: false } }))).sequence.steps;
    expect(off.find((x) => x.id === e.id)!.enabled).toBe(false);
    const withB = (await ok(steps[":stepId"].variants.$post({ param: step(e.id), json: { subject: "B", body: "b" } }), 201)).sequence.steps;
    const variants = withB.find((x) => x.id === e.id)!.variants;
    expect(variants.map((v) => v.label)).toEqual(["A", "B"]);
    const variant = steps[":stepId"].variants[":variantId"];
    const vA = variants[0]!.id;
    const offA = await variant.$patch({ param: { ...step(e.id), variantId: vA }, json: { enabled: false } });
    expect(offA.status, await offA.clone().text()).toBe(200);
    const vB = variants[1]!.id;
    expect((await errorOf(await variant.$patch({ param: { ...step(e.id), variantId: vB }, json: { enabled: false } }))).status).toBe(422);
    // Nor can the only variant on be deleted: the step would send an empty email with no subject.
    const onlyOn = await errorOf(await variant.$delete({ param: { ...step(e.id), variantId: vB } }));
    expect(onlyOn).toMatchObject({ status: 422, message: "The step can't be saved" });
    expect(fieldsOf(onlyOn)[0]!.message).toMatch(/only variant on/);
    // A, which is off, can go; a variant added then takes the free letter A, not a second B.
    await ok(variant.$delete({ param: { ...step(e.id), variantId: vA } }));
    const readded = (await ok(steps[":stepId"].variants.$post({ param: step(e.id), json: { subject: "C", body: "c" } }), 201)).sequence;
    expect(readded.steps.find((x) => x.id === e.id)!.variants.map((v) => [v.label, v.subject])).toEqual([
      ["A", "C"],
      ["B", "B"],
    ]);
    // A new email step with every variant off is refused.
    const allOff = await errorOf(
      await steps.$post({ param, json: { type: "auto_email", variants: [{ subject: "X", body: "x", enabled: false }] } }),
    );
    expect(allOff.status).toBe(422);
    expect(fieldsOf(allOff).map((f) => f.field)).toEqual(["variants"]);
    const after = (await ok(steps[":stepId"].$delete({ param: step(t.id) }))).sequence.steps;
    expect(after.map((x) => [x.id, x.position])).toEqual([[e.id, 1]]);
  });

  it("a variant edit writes only the fields it sends: a teammate's edit of the other field meanwhile stays", async () => {
    const s = await login("admin@demo.test");
    const seq = await newSequence(s);
    const steps = client(s).api.sequences[":id"].steps;
    const created = (
      await ok(
        steps.$post({ param: { id: seq.id }, json: { type: "auto_email", variants: [{ subject: "Old subject", body: "Old body" }] } }),
        201,
      )
    ).sequence.steps[0]!;
    const variantId = created.variants[0]!.id;
    // Right after this edit reads the variant, someone else saves a new body.
    const proto = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const originals = { raw: proto.raw!, all: proto.all!, first: proto.first! };
    let raced = false;
    for (const [name, fn] of Object.entries(originals))
      proto[name] = async function (this: { statement: string }, ...a: unknown[]) {
        const out = await fn.apply(this, a);
        if (!raced && /^select/i.test(this.statement) && /from "step_variants"/.test(this.statement)) {
          raced = true;
          await env.DB.prepare("UPDATE step_variants SET body = 'Teammate body' WHERE id = ?").bind(variantId).run();
        }
        return out;
      };
    try {
      await ok(
        steps[":stepId"].variants[":variantId"].$patch({
          param: { id: seq.id, stepId: created.id, variantId },
          json: { subject: "New subject" },
        }),
      );
    } finally {
      Object.assign(proto, originals);
    }
    expect(raced).toBe(true);
    expect(await env.DB.prepare("SELECT subject, body FROM step_variants WHERE id = ?").bind(variantId).first()).toEqual({
      subject: "New subject",
      body: "Teammate body",
    });
  });

  it("renames, toggles active, clones and archives", async () => {
    const s = await login("admin@demo.test");
    const api = client(s).api;
    const seq = await newSequence(s);
    const param = { id: seq.id };
    await api.sequences[":id"].steps.$post({ param, json: { type: "auto_email", variants: [{ subject: "A", body: "a" }] } });
    const on = (await ok(api.sequences[":id"].$patch({ param, json: { name: "Renamed", active: true } }))).sequence;
    expect(on).toMatchObject({ name: "Renamed", active: true });
    const clone = (await ok(api.sequences[":id"].clone.$post({ param, json: {} }), 201)).sequence;
    expect(clone).toMatchObject({ name: "Renamed (copy)", active: false });
    expect(clone.steps).toHaveLength(1);
    expect(clone.steps[0]!.id).not.toBe(on.steps[0]!.id);
    expect(clone.steps[0]!.variants[0]!.subject).toBe("A");
    const archived = (await ok(api.sequences[":id"].archive.$post({ param }))).sequence;
    expect(archived.active).toBe(false);
    expect(archived.archived_at).toBeGreaterThan(0);
    expect((await errorOf(await api.sequences[":id"].$patch({ param, json: { active: true } }))).status).toBe(409);
    const list = await ok(api.sequences.$get({ query: { status: "archived" } }));
    expect(list.sequences.map((x) => x.id)).toContain(seq.id);
  });
});

describe("sequence sharing and access", () => {
  it("a view-only user can read but not change a shared sequence (403); an editor can", async () => {
    const viewer = client(await login("rep2@demo.test")).api;
    const editor = client(await login("rep1@demo.test")).api;
    const param = { id: SEQ1 };
    const read = await ok(viewer.sequences[":id"].$get({ param }));
    expect(read.sequence.access).toBe("view");
    expect(await errorOf(await viewer.sequences[":id"].$patch({ param, json: { name: "hijack" } }))).toMatchObject({
      status: 403,
      code: "forbidden",
    });
    expect((await viewer.sequences[":id"].steps.$post({ param, json: { type: "task" } })).status).toBe(403);
    const name = await env.DB.prepare("select name from sequences where id = ?").bind(SEQ1).first<{ name: string }>();
    expect(name!.name).toBe("Enterprise outbound — Q4");
    expect((await ok(editor.sequences[":id"].$get({ param }))).sequence.access).toBe("edit");
    // editors can't change sharing
    expect((await editor.sequences[":id"].shares.$put({ param, json: { shares: [] } })).status).toBe(403);
  });

  it("a member doesn't see a sequence nobody shared with them: 404", async () => {
    const owner = await login("rep1@demo.test");
    const seq = await newSequence(owner);
    const otherSession = await login("rep2@demo.test");
    const other = client(otherSession).api;
    const param = { id: seq.id };
    expect((await other.sequences[":id"].$get({ param })).status).toBe(404);
    const list = await ok(other.sequences.$get({ query: { per_page: "100" } }));
    expect(list.sequences.map((x) => x.id)).not.toContain(seq.id);
    // sharing it makes it visible
    await client(owner).api.sequences[":id"].shares.$put({ param, json: { shares: [{ user_id: otherSession.userId, access: "view" }] } });
    expect((await other.sequences[":id"].$get({ param })).status).toBe(200);
  });

  it("another team's sequence answers 404, to reads and writes", async () => {
    const rival = client(await login("admin@rival.test")).api;
    const param = { id: SEQ1 };
    expect((await rival.sequences[":id"].$get({ param })).status).toBe(404);
    expect((await rival.sequences[":id"].$patch({ param, json: { active: false } })).status).toBe(404);
    expect((await client({ apiKey: "rival-master-key" }).api.sequences[":id"].enrollments.$get({ param, query: {} })).status).toBe(404);
    expect(
      (
        await rival.sequences[":id"].enrollments[":action"].$post({
          param: { ...param, action: "pause" },
          json: { enrollment_ids: ["x"] },
        })
      ).status,
    ).toBe(404);
  });

  it("sharing with a user of another team is refused", async () => {
    const s = await login("admin@demo.test");
    const seq = await newSequence(s);
    const rival = await login("admin@rival.test");
    const err = await errorOf(
      await client(s).api.sequences[":id"].shares.$put({
        param: { id: seq.id },
        json: { shares: [{ user_id: rival.userId, access: "edit" }] },
      }),
    );
    expect(err.status).toBe(422);
  });
});

describe("schedules", () => {
  it("creates a schedule, validates windows and time zones, and won't delete one in use", async () => {
    const s = await login("admin@demo.test");
    const api = client(s).api;
    const bad = await errorOf(await api.schedules.$post({ json: { name: "Bad", time_zone: "Mars/Olympus", windows: {} } }));
    expect(fieldsOf(bad)[0]!.field).toBe("time_zone");
    const overlap = await errorOf(
      await api.schedules.$post({
        json: {
          name: "Overlap",
          time_zone: "Europe/Berlin",
          windows: {
            "1": [
              ["09:00", "12:00"],
              ["11:00", "13:00"],
            ],
          },
        },
      }),
    );
    expect(overlap.status).toBe(422);
    const { schedule: sched } = await ok(
      api.schedules.$post({
        json: {
          name: `Berlin ${crypto.randomUUID()}`,
          time_zone: "Europe/Berlin",
          windows: { "1": [["09:00", "12:00"]], "3": [["14:00", "18:00"]] },
          holiday_calendar: "GB",
          holidays: ["2027-01-04"],
        },
      }),
      201,
    );
    expect(sched.next_window_at).toBeGreaterThan(0);
    const seq = await newSequence(s);
    await api.sequences[":id"].$patch({ param: { id: seq.id }, json: { schedule_id: sched.id } });
    expect((await errorOf(await api.schedules[":id"].$delete({ param: { id: sched.id } }))).status).toBe(409);
    const hol = await ok(api.schedules.holidays.$get({ query: { calendar: "US", year: "2026" } }));
    expect(hol.holidays.map((h) => h.date)).toContain("2026-11-26");
  });

  it("says whether a schedule's window is open now and until when, or when it next opens", async () => {
    // Tuesday 5 January 2027, 10:00 UTC: 11:00 in Berlin.
    setClock(Date.UTC(2027, 0, 5, 10));
    try {
      const api = client(await login("admin@demo.test")).api;
      const make = async (windows: Record<string, [string, string][]>) =>
        (await ok(api.schedules.$post({ json: { name: `Berlin ${crypto.randomUUID()}`, time_zone: "Europe/Berlin", windows } }), 201))
          .schedule;
      const open = await make({ "2": [["09:00", "12:00"]] });
      expect(open.next_window_at).toBe(Date.UTC(2027, 0, 5, 10));
      expect(open.window_open_until).toBe(Date.UTC(2027, 0, 5, 11));
      const closed = await make({ "3": [["09:00", "12:00"]] });
      expect(closed.window_open_until).toBeNull();
      expect(closed.next_window_at).toBe(Date.UTC(2027, 0, 6, 8));
      // The list says the same.
      const listed = (await ok(api.schedules.$get())).schedules.find((x) => x.id === open.id)!;
      expect(listed.window_open_until).toBe(Date.UTC(2027, 0, 5, 11));
    } finally {
      resetClock();
    }
  });
});
