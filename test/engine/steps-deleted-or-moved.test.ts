// Steps deleted, added or moved while contacts are on them. A contact stays on its step (by id) and the
// screens show that step's position now; a contact whose step is deleted goes on to the step that came
// after it, never past it. Before, the engine found that step by the contact's old position: after a
// step above had been deleted (positions close up), deleting the contact's own step skipped the next
// step, or finished the contact early; and the enrollments list, the funnel and the "next email"
// preview kept the position the contact had when it got to the step. Changes go through the API, as a
// user makes them; emails are counted at the transport.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setTransportOverride } from "../../worker/transports";
import { runInDurableObject } from "cloudflare:test";
import { engine, sequenceStub } from "../../durable-objects/engine";
import { client, env, ok } from "../helpers";
import {
  DAY,
  HOUR,
  SIM_START,
  enroll,
  makeContacts,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  runUntil,
  sessionFor,
  startSimulation,
} from "../fixtures";

describe("steps deleted or moved while contacts are on them", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  /** Four email steps, sending at any time: One and Two go at once, Three waits two days, Four none. */
  async function world() {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId, stepIds } = await makeSequence(
      teamId,
      userId,
      ["One", "Two", "Three", "Four"].map((name) => ({
        wait: name === "Three" ? 2 : 0,
        variants: [{ subject: `${name} {{first_name}}`, body: name }],
      })),
      null,
    );
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const subjects: string[] = [];
    setTransportOverride(mailboxId, {
      local: true,
      send: async (e) => (subjects.push(/^Subject: (\w+)/m.exec(e.raw)?.[1] ?? "?"), { ok: true, response: "counted" }),
    });
    const [contactId] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
    await runUntil(SIM_START + HOUR);
    expect(subjects).toEqual(["One", "Two"]);
    const step = (i: number) => ({ param: { id: sequenceId, stepId: stepIds[i]! } });
    return { api, sequenceId, stepIds, subjects, step };
  }

  /** The contact as the enrollments list shows it (D1's copy of the engine's state). */
  const shown = async (w: Awaited<ReturnType<typeof world>>) => {
    const { enrollments } = await ok(w.api.sequences[":id"].enrollments.$get({ param: { id: w.sequenceId }, query: {} }));
    return enrollments[0]!;
  };

  it("deleting a step above, then the contact's own: it goes on to the step after it, and the list says which", async () => {
    const w = await world();
    expect(await shown(w)).toMatchObject({ status: "active", current_step: 3 });
    await ok(w.api.sequences[":id"].steps[":stepId"].$delete(w.step(0)));
    // Three is now step 2: the list says so at once, not when the contact next moves.
    expect(await shown(w)).toMatchObject({ status: "active", current_step: 2 });
    await ok(w.api.sequences[":id"].steps[":stepId"].$delete(w.step(2)));
    // Four took Three's place; it goes when Three would have (its own wait is none).
    expect(await shown(w)).toMatchObject({ status: "active", current_step: 2 });
    await runUntil(SIM_START + 3 * DAY);
    expect(w.subjects).toEqual(["One", "Two", "Four"]);
    expect(await shown(w)).toMatchObject({ status: "finished", reason: "completed_all_steps", current_step: 2 });
  });

  it("deleting the contact's own step, then one above it: it goes on to the step that came after its own", async () => {
    const w = await world();
    await ok(
      w.api.sequences[":id"].steps.$post({
        param: { id: w.sequenceId },
        json: { type: "auto_email", wait_amount: 0, wait_unit: "days", variants: [{ subject: "Five {{first_name}}", body: "Five" }] },
      }),
      201,
    );
    await ok(w.api.sequences[":id"].steps[":stepId"].$delete(w.step(2)));
    await ok(w.api.sequences[":id"].steps[":stepId"].$delete(w.step(0)));
    // Two, Four, Five: the contact waits where Four now stands.
    expect(await shown(w)).toMatchObject({ status: "active", current_step: 2 });
    await runUntil(SIM_START + 3 * DAY);
    expect(w.subjects).toEqual(["One", "Two", "Four", "Five"]);
  });

  it("moving or adding steps: the contact stays on its step, which the list and the preview name by its new place", async () => {
    const w = await world();
    // Three first: the contact is on it, so the list says step 1, and the next email is still Three.
    await ok(
      w.api.sequences[":id"].steps.reorder.$post({
        param: { id: w.sequenceId },
        json: { step_ids: [w.stepIds[2]!, w.stepIds[0]!, w.stepIds[1]!, w.stepIds[3]!] },
      }),
    );
    const e = await shown(w);
    expect(e).toMatchObject({ status: "active", current_step: 1 });
    const next = await ok(
      w.api.sequences[":id"].enrollments[":enrollment_id"]["next-email"].$get({ param: { id: w.sequenceId, enrollment_id: e.id } }),
    );
    expect(next).toMatchObject({ step: { id: w.stepIds[2], position: 1 }, subject: expect.stringMatching(/^Three /) });
    // A step added in front moves it to 2.
    await ok(
      w.api.sequences[":id"].steps.$post({
        param: { id: w.sequenceId },
        json: { type: "call", position: 1, wait_amount: 0, wait_unit: "days", note: "Call first" },
      }),
      201,
    );
    expect(await shown(w)).toMatchObject({ current_step: 2 });
    // Then Three goes, and Four; One and Two were done already and are never sent again.
    await runUntil(SIM_START + 3 * DAY);
    expect(w.subjects).toEqual(["One", "Two", "Three", "Four"]);
    expect(await shown(w)).toMatchObject({ status: "finished", reason: "completed_all_steps", current_step: 5 });
  });

  it("contacts only D1 had (the demo seed names their step by position) follow their steps too", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 2 }, { wait: 3 }], null);
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const [a, b] = await makeContacts(teamId, 2);
    const insert =
      "INSERT INTO enrollments (id, team_id, sequence_id, contact_id, mailbox_id, status, current_step, next_due_at, reason, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    await env.DB.batch([
      env.DB.prepare(insert).bind(
        "seeded-on-2",
        teamId,
        sequenceId,
        a,
        mailboxId,
        "active",
        2,
        SIM_START + 2 * DAY,
        "waiting_for_step",
        SIM_START,
        SIM_START,
      ),
      env.DB.prepare(insert).bind(
        "seeded-done",
        teamId,
        sequenceId,
        b,
        mailboxId,
        "finished",
        3,
        null,
        "completed_all_steps",
        SIM_START,
        SIM_START,
      ),
    ]);
    // The last step first, then the first two: step 2 is now 3, step 3 is now 1.
    await ok(
      api.sequences[":id"].steps.reorder.$post({ param: { id: sequenceId }, json: { step_ids: [stepIds[2]!, stepIds[0]!, stepIds[1]!] } }),
    );
    const rows = await env.DB.prepare("SELECT id, current_step FROM enrollments WHERE sequence_id = ? ORDER BY id").bind(sequenceId).all();
    expect(rows.results).toEqual([
      { id: "seeded-done", current_step: 1 },
      { id: "seeded-on-2", current_step: 3 },
    ]);
  });

  it("a contact finished and added again while D1 is unreachable: once it is back, both reach D1 in order, at their new places", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 0 }, { wait: 2 }], null);
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    setTransportOverride(mailboxId, { local: true, send: async () => ({ ok: true, response: "counted" }) });
    const [contactId] = await makeContacts(teamId, 1);
    const seq = engine.sequence(env, sequenceId, teamId);
    await seq.enroll([{ enrollmentId: "first-time", contactId: contactId!, mailboxId, score: 1, timeZone: null }]);
    await runUntil(SIM_START + HOUR); // steps 1 and 2 sent, waiting on step 3
    // D1 refuses the mirror's writes until the steps are renumbered: the finish and the new enrollment stay
    // to mirror, in that order, through the engine's call before the edit; the call after it sends them.
    type Batch = (this: D1Database, stmts: (D1PreparedStatement & { statement: string })[]) => Promise<unknown>;
    const d1 = Object.getPrototypeOf(env.DB) as { batch: Batch };
    const batch = d1.batch;
    let renumbered = false;
    d1.batch = async function (this: D1Database, stmts) {
      if (stmts.some((q) => /^update "steps"/i.test(q.statement))) renumbered = true;
      if (!renumbered && stmts.some((q) => /^\s*(INSERT INTO|UPDATE) enrollments\b/.test(q.statement))) throw new Error("D1 unreachable");
      return batch.call(this, stmts);
    };
    try {
      await seq.finish(["first-time"]).catch(() => {});
      await seq.enroll([{ enrollmentId: "second-time", contactId: contactId!, mailboxId, score: 1, timeZone: null }]).catch(() => {});
      // Step 3 moves up to 2 (the finished enrollment's step); step 1, the new one's, stays.
      await ok(
        api.sequences[":id"].steps.reorder.$post({
          param: { id: sequenceId },
          json: { step_ids: [stepIds[0]!, stepIds[2]!, stepIds[1]!] },
        }),
      );
      expect(renumbered).toBe(true);
    } finally {
      d1.batch = batch;
    }
    const rows = await env.DB.prepare("SELECT id, status, current_step FROM enrollments WHERE sequence_id = ? ORDER BY id")
      .bind(sequenceId)
      .all();
    expect(rows.results).toEqual([
      { id: "first-time", status: "finished", current_step: 2 },
      { id: "second-time", status: "active", current_step: 1 },
    ]);
  });

  it("an object from before steps were followed (rows without their step, no places kept): its contacts follow from the first edit", async () => {
    const w = await world();
    await runInDurableObject(sequenceStub(env, w.sequenceId), (o, state) => {
      state.storage.sql.exec("UPDATE enrollments SET step_id = NULL");
      state.storage.sql.exec("DELETE FROM meta WHERE key = 'step_places'");
      Object.assign(o, { stepPlaces: null, places: null });
    });
    await ok(w.api.sequences[":id"].steps[":stepId"].$delete(w.step(0)));
    expect(await shown(w)).toMatchObject({ status: "active", current_step: 2 });
    await runUntil(SIM_START + 3 * DAY);
    // Placed by its old position 3 after the delete, it would have skipped Three.
    expect(w.subjects).toEqual(["One", "Two", "Three", "Four"]);
  });

  it("an edit while a hand-over waits for its answers: its renumbered rows keep a check when it was due", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    // 09:00–17:00 New York: step 1 is handed over at once and waits in the mailbox for Monday morning.
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1 }], await makeSchedule(teamId));
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const contactIds = await makeContacts(teamId, 2);
    await enroll(teamId, sequenceId, contactIds, [mailboxId]);
    const stub = sequenceStub(env, sequenceId);
    const sql = <T>(q: string, ...b: unknown[]) =>
      runInDurableObject(stub, (_o, state) => state.storage.sql.exec(q, ...b).toArray() as T[]);
    // As if its answers never came (a restart, a mailbox call that failed): a check due at 02:00 over its revisions.
    const due = SIM_START + 2 * HOUR;
    const revs = (await sql<{ dirty: number }>("SELECT dirty FROM enrollments ORDER BY dirty")).map((r) => r.dirty);
    await sql("INSERT INTO handovers VALUES (?, ?, ?)", revs[0], revs[1], due);
    // Step 1, which both contacts wait on, moves to 2: both are renumbered.
    await ok(api.sequences[":id"].steps.reorder.$post({ param: { id: sequenceId }, json: { step_ids: [stepIds[1]!, stepIds[0]!] } }));
    const now = await sql<{ dirty: number; waiting: string; step_pos: number }>(
      "SELECT dirty, waiting, step_pos FROM enrollments ORDER BY dirty",
    );
    expect(now.map((r) => [r.waiting, r.step_pos])).toEqual([
      ["mailbox", 2],
      ["mailbox", 2],
    ]);
    // A check of their new revisions, due when the first was: exactly those, not every row renumbered.
    const checks = await sql<{ rev_from: number; rev_to: number; run_at: number }>("SELECT * FROM handovers WHERE rev_from > ?", revs[1]);
    expect(checks).toEqual([{ rev_from: now[0]!.dirty, rev_to: now[1]!.dirty, run_at: due }]);
  });

  it("steps moved while the engine is part-way through a due step: the contact's position is the new one", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    // 09:00–17:00 New York: step 2 falls due Monday 19:00 there and waits in the mailbox for Tuesday. (Its
    // own wait is step 1's: turning step 1 off re-times the contact to step 2's wait, the same moment.)
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 1 }, { wait: 1 }, { wait: 0 }], await makeSchedule(teamId));
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    setTransportOverride(mailboxId, { local: true, send: async () => ({ ok: true, response: "counted" }) });
    const [contactId] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
    const seq = api.sequences[":id"];
    // Step 1 is off: when it falls due the contact moves on to step 2.
    await ok(seq.steps[":stepId"].$patch({ param: { id: sequenceId, stepId: stepIds[0]! }, json: { enabled: false } }));
    // While the engine reads the contact (it has already read the steps), step 2 is moved first.
    const statement = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as { all: (this: D1PreparedStatement) => Promise<unknown> };
    const all = statement.all;
    let moved = false;
    statement.all = async function (this: D1PreparedStatement & { statement?: string }) {
      if (!moved && /unsubscribed_at AS unsubscribedAt/.test(this.statement ?? "")) {
        moved = true;
        await ok(seq.steps.reorder.$post({ param: { id: sequenceId }, json: { step_ids: [stepIds[1]!, stepIds[0]!, stepIds[2]!] } }));
      }
      return all.call(this);
    };
    try {
      await runUntil(SIM_START + DAY + HOUR);
    } finally {
      statement.all = all;
    }
    expect(moved).toBe(true);
    const row = await env.DB.prepare("SELECT status, reason, current_step FROM enrollments WHERE sequence_id = ?").bind(sequenceId).first();
    expect(row).toEqual({ status: "active", reason: "queued_for_mailbox", current_step: 1 });
  });
});
