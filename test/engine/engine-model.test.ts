// Model-based checker of the sending engine (issue 9). fast-check commands drive two sequences that
// share two mailboxes through random adds, pauses (with and without a return date), resumes, replies,
// unsubscribes, bounces, removals, disconnects and reconnects, step toggles and reorders, sequences
// turned off and on, objects restarted in the middle of their work, alarms run twice, concurrently and
// out of order, several objects' alarms interleaved, and time jumps. Everything that happens is written
// to one event log: every call at the transport (the only place a send is real), every transition and
// every change to the world. After each run the log and the ledger are checked against the design's
// invariants: nothing sent twice, nothing sent after a stop (or while paused, off, disconnected or
// unsubscribed), steps in order after their waits, caps in every rolling window and the gap, windows,
// nothing stranded, every non-progress with a reason. Credits too: the commands of
// engine-model/credits.ts enroll through the real add-contacts pipeline (jobs held, charged, refused,
// cancelled, aborted, crashed, delivered twice, racing for the last credits) between the engine's, and
// its checkCredits reads the ledger back. A run with contacts above DUE_BATCH and MAX_SENDS_PER_RUN
// checks the same at size.
//
// ENGINE_MODEL_RUNS=30 (environment, passed on as a binding by vitest.config.ts) raises the number of random runs (default 6).
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { armedAlarms } from "../../worker/lib/alarms";
import { now, setClock } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { mailboxStub, sequenceStub } from "../../durable-objects/engine";
import { REASONS, type ReasonCode } from "../../durable-objects/engine-types";
import { addWait, inWindow, type WindowSpec } from "../../worker/services/schedule-time";
import { ALWAYS_OPEN, scheduleToWindow, type ScheduleColumns } from "../../durable-objects/sequence-config";
import { setTransportOverride } from "../../worker/transports";
import type { SendResult } from "../../worker/transports/types";
import { env } from "../helpers";
import { checkCredits, creditCommands, creditParamsArb, creditStats, settleCredits, setupCredits } from "../engine-model/credits";
import { checkScheduledEmails, choiceStats, scheduledEmailCommands, userChoseTime, type ChoiceHow } from "../engine-model/scheduled-email";
import {
  DAY,
  HOUR,
  MIN,
  SIM_START,
  makeContacts,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  mailboxLedger,
  sequenceState,
  enrollmentGroupsVsTruth,
  sequenceCountsVsTruth,
  setMailboxStatus,
  startSimulation,
} from "../fixtures";

const RUNS = Number((env as unknown as { ENGINE_MODEL_RUNS?: string }).ENGINE_MODEL_RUNS) || 6;

// ---------------------------------------------------------------- the world and its log

type Event =
  | { kind: "send"; at: number; mailbox: string; messageId: string; enrollmentId: string; stepId: string; to: string; edit: string | null }
  | { kind: "add"; at: number; enrollmentId: string; seq: number; contact: number }
  | { kind: "stop"; at: number; enrollmentId: string; why: string }
  | { kind: "pause"; at: number; enrollmentId: string; until: number | null }
  | { kind: "resume"; at: number; enrollmentId: string }
  | { kind: "unsub"; at: number; email: string }
  | { kind: "seqOff" | "seqOn"; at: number; seq: number }
  | { kind: "disconnect" | "reconnect"; at: number; mailbox: string }
  | { kind: "reorder" | "toggle"; at: number; seq: number }
  | { kind: "choice"; at: number; enrollmentId: string; stepId: string; how: ChoiceHow; ok: boolean; marker?: string };

interface StepDef {
  wait: number;
  unit: "minutes" | "hours";
}
interface SeqDef {
  id: string;
  stepIds: string[];
  steps: StepDef[];
  window: WindowSpec;
  contactZone: boolean;
}

interface World {
  teamId: string;
  seqs: SeqDef[];
  mailboxes: string[];
  limits: { daily: number; hourly: number; gapSeconds: number }[];
  contacts: string[];
  emails: string[];
  zones: (string | null)[];
  /** Enrollments this run created: id → (sequence, contact). */
  enrollments: { id: string; seq: number; contact: number }[];
  log: Event[];
  /** Objects whose alarm failed (restart): the runtime retries them. */
  retry: Set<string>;
  bouncers: Set<string>;
}

const ZONES = [null, "Asia/Tokyo", "Europe/London", "America/Los_Angeles"] as const;

async function makeWorld(p: WorldParams): Promise<World> {
  const { teamId, userId } = await makeTeam("Model");
  const seqs: SeqDef[] = [];
  for (const s of p.sequences) {
    const scheduleId = s.daytime ? await makeSchedule(teamId, { useContactTimeZone: s.contactZone }) : null;
    const { sequenceId, stepIds } = await makeSequence(
      teamId,
      userId,
      s.steps.map((x) => ({ wait: x.wait, unit: x.unit })),
      scheduleId,
    );
    const window = scheduleId
      ? scheduleToWindow((await env.DB.prepare("SELECT * FROM schedules WHERE id = ?").bind(scheduleId).first<ScheduleColumns>())!)
      : ALWAYS_OPEN;
    seqs.push({ id: sequenceId, stepIds, steps: s.steps, window, contactZone: !!scheduleId && s.contactZone });
  }
  const mailboxes: string[] = [];
  for (const m of p.mailboxes) mailboxes.push(await makeMailbox(teamId, userId, { ...m, jitterSeconds: 0 }));
  const zones = Array.from({ length: p.contacts }, (_, i) => ZONES[i % ZONES.length]!);
  const contacts = await makeContacts(teamId, p.contacts, { score: (i) => (i * 37) % 100, timeZone: (i) => zones[i]! });
  const emails = await Promise.all(
    contacts.map(
      async (id) => (await env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(id).first<{ email: string }>())!.email,
    ),
  );
  const w: World = {
    teamId,
    seqs,
    mailboxes,
    limits: p.mailboxes,
    contacts,
    emails,
    zones,
    enrollments: [],
    log: [],
    retry: new Set(),
    bouncers: new Set(),
  };
  for (const mb of mailboxes) {
    let n = 0;
    setTransportOverride(mb, {
      async send(mail): Promise<SendResult> {
        const m = /^<sf\.([0-9a-f]+)\.([0-9a-f]+)@/.exec(mail.messageId);
        w.log.push({
          kind: "send",
          at: now(),
          mailbox: mb,
          messageId: mail.messageId,
          enrollmentId: m?.[1] ?? "",
          stepId: m?.[2] ?? "",
          to: mail.to,
          edit: /EDIT-([0-9a-f]+)/.exec(mail.raw)?.[1] ?? null,
        });
        await new Promise((r) => setTimeout(r, 0)); // a transport call is outbound I/O: let others run
        if (w.bouncers.has(mail.to)) return { ok: false, kind: "recipient_permanent", code: "550", message: "5.1.1 user unknown" };
        if (++n % 7 === 0) return { ok: false, kind: "unknown", message: "timed out after the final dot" };
        return { ok: true };
      },
    });
  }
  return w;
}

/** runInDurableObject without its deep generic types, for a stub of either object (the driver fires its alarm). */
const inObject = runInDurableObject as unknown as <T>(
  stub: unknown,
  fn: (o: { alarm(): Promise<void> }, state: DurableObjectState) => T | Promise<T>,
) => Promise<T>;

/** A method of a class prototype, as a command wraps it. */
type Method = (this: unknown, ...args: unknown[]) => Promise<unknown>;
/** One enrollment as the SequenceDO holds it. */
type ObjectEnrollment = Awaited<ReturnType<typeof sequenceState>>["enrollments"][number];

const stubOf = (key: string): DurableObjectStub => {
  const [kind, name] = key.split(":") as ["sequence" | "mailbox", string];
  return (kind === "sequence" ? sequenceStub(env, name) : mailboxStub(env, name)) as unknown as DurableObjectStub;
};

/** Runs one object's alarm handler; a failure (a restart) leaves it to be retried, as the runtime does. */
async function fire(w: World, key: string): Promise<void> {
  armedAlarms.delete(key);
  w.retry.delete(key);
  try {
    await inObject(stubOf(key), (o) => o.alarm());
  } catch {
    w.retry.add(key);
  }
}

/** Discrete-event driver: due alarms (and retries) at their simulated instants until `until`. `together`: run all due at once. */
async function drive(w: World, until: number, together = false, maxEvents = 5_000) {
  for (let n = 0; n < maxEvents; n++) {
    const due: { key: string; at: number }[] = [...w.retry].map((key) => ({ key, at: now() }));
    for (const [key, a] of armedAlarms) if (!w.retry.has(key)) due.push({ key, at: a.at });
    if (!due.length) break;
    const at = Math.min(...due.map((d) => d.at));
    if (at > until) break;
    if (at > now()) setClock(at);
    const ready = due.filter((d) => d.at <= now());
    if (together) await Promise.all(ready.map((d) => fire(w, d.key)));
    else await fire(w, ready[0]!.key);
  }
  if (now() < until) setClock(until);
}

/** The MailboxDO class's prototype as the runtime runs it (to wrap one method for one command). */
const mailboxProto = async (w: World): Promise<Record<string, Method>> =>
  inObject(mailboxStub(env, w.mailboxes[0]!), (o) => Object.getPrototypeOf(o) as Record<string, Method>);

const pickEnrollment = (w: World, i: number) => (w.enrollments.length ? w.enrollments[i % w.enrollments.length]! : null);

// ---------------------------------------------------------------- commands

type Cmd = fc.AsyncCommand<object, World>;
const cmd = (name: string, run: (w: World) => Promise<void>): Cmd => ({
  check: () => true,
  run: async (_m, w) => run(w),
  toString: () => name,
});

const transition = async (
  w: World,
  e: { id: string; seq: number },
  action: "pause" | "resume" | "finish" | "remove",
  reason?: ReasonCode,
  until?: number,
) => sequenceStub(env, w.seqs[e.seq]!.id).transition(w.seqs[e.seq]!.id, w.teamId, [e.id], action, reason, until);

const commands = [
  fc.record({ c: fc.nat(), s: fc.nat(), m: fc.nat() }).map(({ c, s, m }) =>
    cmd(`add(${c},${s},${m})`, async (w) => {
      const seq = s % w.seqs.length;
      const contact = c % w.contacts.length;
      const id = newId();
      const res = await sequenceStub(env, w.seqs[seq]!.id).enroll(w.seqs[seq]!.id, w.teamId, [
        {
          enrollmentId: id,
          contactId: w.contacts[contact]!,
          mailboxId: w.mailboxes[m % w.mailboxes.length]!,
          score: (contact * 37) % 100,
          timeZone: w.zones[contact]!,
        },
      ]);
      if (res.enrolled.length) {
        w.enrollments.push({ id, seq, contact });
        w.log.push({ kind: "add", at: now(), enrollmentId: id, seq, contact });
      }
    }),
  ),
  fc.record({ e: fc.nat(), days: fc.option(fc.integer({ min: 1, max: 3 })) }).map(({ e, days }) =>
    cmd(`pause(${e},${days})`, async (w) => {
      const en = pickEnrollment(w, e);
      if (!en) return;
      const until = days ? now() + days * DAY : undefined;
      const changed = await transition(w, en, "pause", days ? "out_of_office" : undefined, until);
      if (changed.length) w.log.push({ kind: "pause", at: now(), enrollmentId: en.id, until: until ?? null });
    }),
  ),
  fc.nat().map((e) =>
    cmd(`resume(${e})`, async (w) => {
      const en = pickEnrollment(w, e);
      if (en && (await transition(w, en, "resume")).length) w.log.push({ kind: "resume", at: now(), enrollmentId: en.id });
    }),
  ),
  fc.record({ e: fc.nat(), how: fc.constantFrom("replied", "remove", "bounce") }).map(({ e, how }) =>
    cmd(`${how}(${e})`, async (w) => {
      const en = pickEnrollment(w, e);
      if (!en) return;
      if (how === "bounce") {
        // What the inbound handler does with a bounce report.
        const t = now();
        const email = w.emails[en.contact]!;
        await env.DB.batch([
          env.DB.prepare("UPDATE contacts SET bounced_at = coalesce(bounced_at, ?) WHERE id = ?").bind(t, w.contacts[en.contact]),
          env.DB.prepare(
            "INSERT OR IGNORE INTO suppressions (id, team_id, email, reason, source, created_at) VALUES (?, ?, lower(?), 'bounced', 'dsn', ?)",
          ).bind(newId(), w.teamId, email, t),
        ]);
        w.bouncers.add(email);
        w.log.push({ kind: "unsub", at: t, email });
      }
      const changed = await transition(
        w,
        en,
        how === "remove" ? "remove" : "finish",
        how === "remove" ? undefined : how === "bounce" ? "bounced" : "replied",
      );
      if (changed.length) w.log.push({ kind: "stop", at: now(), enrollmentId: en.id, why: how });
    }),
  ),
  // Issue 12: restart (a new run from step 1 or a chosen step; the old one closes) and a change of mailbox.
  fc.record({ e: fc.nat(), step: fc.option(fc.integer({ min: 1, max: 3 })) }).map(({ e, step }) =>
    cmd(`restart(${e},${step})`, async (w) => {
      const en = pickEnrollment(w, e);
      if (!en) return;
      const seqId = w.seqs[en.seq]!.id;
      const before = await sequenceState(seqId);
      const wasOpen = ["active", "paused", "held"].includes(before.enrollments.find((x) => x.id === en.id)?.status ?? "");
      const [r] = await sequenceStub(env, seqId).restart(seqId, w.teamId, [en.id], step, null);
      if (r?.outcome !== "restarted") return;
      if (wasOpen) w.log.push({ kind: "stop", at: now(), enrollmentId: en.id, why: "restart" });
      w.enrollments.push({ id: r.newId!, seq: en.seq, contact: en.contact });
      w.log.push({ kind: "add", at: now(), enrollmentId: r.newId!, seq: en.seq, contact: en.contact });
    }),
  ),
  fc.record({ e: fc.nat(), m: fc.nat() }).map(({ e, m }) =>
    cmd(`changeMailbox(${e},${m})`, async (w) => {
      const en = pickEnrollment(w, e);
      if (!en) return;
      const seqId = w.seqs[en.seq]!.id;
      await sequenceStub(env, seqId).changeMailbox(seqId, w.teamId, [en.id], w.mailboxes[m % w.mailboxes.length]!);
    }),
  ),
  fc.nat().map((c) =>
    cmd(`unsubscribe(${c})`, async (w) => {
      // What the one-click unsubscribe route writes.
      const email = w.emails[c % w.emails.length]!;
      const t = now();
      await env.DB.batch([
        env.DB.prepare(
          "INSERT OR IGNORE INTO suppressions (id, team_id, email, reason, source, created_at) VALUES (?, ?, lower(?), 'unsubscribed', 'one_click', ?)",
        ).bind(newId(), w.teamId, email, t),
        env.DB.prepare(
          "UPDATE contacts SET unsubscribed_at = coalesce(unsubscribed_at, ?) WHERE team_id = ? AND lower(email) = lower(?)",
        ).bind(t, w.teamId, email),
      ]);
      w.log.push({ kind: "unsub", at: t, email });
    }),
  ),
  fc.record({ m: fc.nat(), on: fc.boolean() }).map(({ m, on }) =>
    cmd(`${on ? "reconnect" : "disconnect"}(${m})`, async (w) => {
      const mailbox = w.mailboxes[m % w.mailboxes.length]!;
      w.log.push({ kind: on ? "reconnect" : "disconnect", at: now(), mailbox });
      await setMailboxStatus(mailbox, on ? "connected" : "disconnected", on ? null : "token revoked");
    }),
  ),
  fc.record({ s: fc.nat(), i: fc.nat(), j: fc.nat(), reorder: fc.boolean() }).map(({ s, i, j, reorder }) =>
    cmd(`${reorder ? "reorder" : "toggle"}(${s},${i},${j})`, async (w) => {
      const seq = w.seqs[s % w.seqs.length]!;
      const a = seq.stepIds[i % seq.stepIds.length]!;
      const b = seq.stepIds[j % seq.stepIds.length]!;
      if (reorder) {
        const pos = (
          await env.DB.prepare("SELECT id, position FROM steps WHERE id IN (?, ?)").bind(a, b).all<{ id: string; position: number }>()
        ).results;
        const pa = pos.find((x) => x.id === a)!.position;
        const pb = pos.find((x) => x.id === b)!.position;
        await env.DB.batch([
          env.DB.prepare("UPDATE steps SET position = 1000 WHERE id = ?").bind(a),
          env.DB.prepare("UPDATE steps SET position = ? WHERE id = ?").bind(pa, b),
          env.DB.prepare("UPDATE steps SET position = ? WHERE id = ?").bind(pb, a),
        ]);
      } else
        // As the API allows it: the last step on of a sequence that is on can't be turned off (422).
        await env.DB.prepare(
          `UPDATE steps SET enabled = 1 - enabled WHERE id = ? AND NOT (enabled = 1
             AND (SELECT active FROM sequences WHERE id = steps.sequence_id) = 1
             AND NOT EXISTS (SELECT 1 FROM steps o WHERE o.sequence_id = steps.sequence_id AND o.enabled = 1 AND o.id <> steps.id))`,
        )
          .bind(a)
          .run();
      w.log.push({ kind: reorder ? "reorder" : "toggle", at: now(), seq: s % w.seqs.length });
    }),
  ),
  fc.record({ s: fc.nat(), on: fc.boolean() }).map(({ s, on }) =>
    cmd(`sequence${on ? "On" : "Off"}(${s})`, async (w) => {
      const seq = s % w.seqs.length;
      const id = w.seqs[seq]!.id;
      if (!on) w.log.push({ kind: "seqOff", at: now(), seq });
      // As the API allows it: a sequence with every step off can't be turned on (422).
      const changed = await env.DB.prepare(
        "UPDATE sequences SET active = ? WHERE id = ? AND (? = 0 OR EXISTS (SELECT 1 FROM steps WHERE sequence_id = sequences.id AND enabled = 1))",
      )
        .bind(on ? 1 : 0, id, on ? 1 : 0)
        .run();
      if (on && changed.meta.changes) {
        await sequenceStub(env, id).activate(id, w.teamId);
        w.log.push({ kind: "seqOn", at: now(), seq });
      }
    }),
  ),
  fc.record({ o: fc.nat(), ticks: fc.integer({ min: 0, max: 6 }) }).map(({ o, ticks }) =>
    cmd(`restart(${o},${ticks})`, async (w) => {
      // An object is reset while its alarm is part-way through (between two of its awaits).
      const keys = [...w.seqs.map((s) => `sequence:${s.id}`), ...w.mailboxes.map((m) => `mailbox:${m}`)];
      const key = keys[o % keys.length]!;
      const run = fire(w, key);
      for (let i = 0; i < ticks; i++) await new Promise((r) => setTimeout(r, 0));
      await inObject(stubOf(key), (_o, state) => state.abort("simulated restart")).catch(() => undefined);
      await run;
      w.retry.add(key); // the runtime runs an interrupted alarm again
    }),
  ),
  fc.nat().map((o) =>
    cmd(`alarmTwice(${o})`, async (w) => {
      // At-least-once and out of order: one object's alarm twice at once, whether due or not, next to another's.
      const keys = [...w.seqs.map((s) => `sequence:${s.id}`), ...w.mailboxes.map((m) => `mailbox:${m}`)];
      const key = keys[o % keys.length]!;
      const other = keys[(o + 1) % keys.length]!;
      const had = armedAlarms.get(key);
      await Promise.all([fire(w, key), fire(w, key), fire(w, other)]);
      if (had && !armedAlarms.has(key)) armedAlarms.set(key, had);
    }),
  ),
  fc
    .record({
      e: fc.nat(),
      how: fc.constantFrom("replied", "pause", "remove"),
      ticks: fc.integer({ min: 0, max: 12 }),
      minutes: fc.integer({ min: 0, max: 24 * 60 }),
    })
    .map(({ e, how, ticks, minutes }) =>
      cmd(`race(${how},${e},${ticks},${minutes})`, async (w) => {
        // A transition lands while both objects are part-way through their alarms (the two objects
        // interleave; the transition arrives between any two of their awaits).
        const en = pickEnrollment(w, e);
        const driving = drive(w, now() + minutes * MIN, true, 40);
        for (let i = 0; i < ticks; i++) await new Promise((r) => setTimeout(r, 0));
        if (en) {
          const changed = await transition(
            w,
            en,
            how === "pause" ? "pause" : how === "remove" ? "remove" : "finish",
            how === "replied" ? "replied" : undefined,
          );
          if (changed.length)
            w.log.push(
              how === "pause"
                ? { kind: "pause", at: now(), enrollmentId: en.id, until: null }
                : { kind: "stop", at: now(), enrollmentId: en.id, why: how },
            );
        }
        await driving;
      }),
    ),
  fc
    .record({ how: fc.constantFrom("replied", "pause", "remove", "lost"), minutes: fc.integer({ min: 0, max: 24 * 60 }) })
    .map(({ how, minutes }) =>
      cmd(`handover(${how},${minutes})`, async (w) => {
        // Exactly between the SequenceDO handing a step over and the MailboxDO receiving it: a transition
        // lands there, or ("lost") the hand-over never arrives because the SequenceDO restarts.
        const proto = await mailboxProto(w);
        const orig = proto.enqueue!;
        let fired = false;
        proto.enqueue = async function (this: unknown, ...args: unknown[]) {
          if (!fired) {
            fired = true;
            const item = (args[2] as { enrollmentId: string }[])[0];
            const en = w.enrollments.find((x) => x.id === item?.enrollmentId);
            if (how === "lost") throw new Error("simulated restart before the enqueue");
            if (en) {
              const changed = await transition(
                w,
                en,
                how === "pause" ? "pause" : how === "remove" ? "remove" : "finish",
                how === "replied" ? "replied" : undefined,
              );
              if (changed.length)
                w.log.push(
                  how === "pause"
                    ? { kind: "pause", at: now(), enrollmentId: en.id, until: null }
                    : { kind: "stop", at: now(), enrollmentId: en.id, why: how },
                );
            }
          }
          return orig.apply(this, args);
        };
        try {
          await drive(w, now() + minutes * MIN, true, 60);
        } finally {
          proto.enqueue = orig;
        }
      }),
    ),
  fc.record({ minutes: fc.integer({ min: 1, max: 3 * 24 * 60 }), together: fc.boolean() }).map(({ minutes, together }) =>
    cmd(`advance(${minutes},${together})`, async (w) => {
      await drive(w, now() + minutes * MIN, together);
    }),
  ),
  // Credits (invariant 6): add-contacts jobs through the real pipeline, in engine-model/credits.ts.
  ...creditCommands<World>(drive),
  // Issue 12 item 8: a user acts on one scheduled email (engine-model/scheduled-email.ts), racing both objects' alarms.
  ...scheduledEmailCommands<World>(drive),
];

// ---------------------------------------------------------------- invariants

async function checkInvariants(w: World) {
  const sends = w.log.flatMap((e, i) => (e.kind === "send" ? [{ ...e, i }] : []));
  const seqOf = new Map(w.enrollments.map((e) => [e.id, e]));
  const state = new Map<string, ObjectEnrollment>();
  const created = new Map<string, number>();
  for (const s of w.seqs) {
    const st = await sequenceState(s.id);
    for (const e of st.enrollments) {
      state.set(e.id, e);
      created.set(e.id, e.created_at);
    }
  }

  // Invariant 4: no (enrollment, step) at the transport twice.
  const ids = sends.map((s) => s.messageId);
  expect(ids.length - new Set(ids).size, "an (enrollment, step) reached the transport twice").toBe(0);

  // Invariants 5, 11, 7 and the held states: nothing sent after a stop, while paused, unsubscribed,
  // the sequence off, or the mailbox disconnected — in log order.
  for (const s of sends) {
    const before = w.log.slice(0, s.i);
    const en = seqOf.get(s.enrollmentId);
    expect(en, `a send for an enrollment this run never made: ${s.messageId}`).toBeDefined();
    const mine = before.filter((e) => "enrollmentId" in e && e.enrollmentId === s.enrollmentId && e.kind !== "send");
    expect(
      mine.some((e) => e.kind === "stop"),
      `sent after a stop: ${s.messageId}`,
    ).toBe(false);
    const lastPause = [...mine].reverse().find((e) => e.kind === "pause" || e.kind === "resume");
    if (lastPause?.kind === "pause")
      expect(lastPause.until !== null && s.at >= lastPause.until, `sent while paused: ${s.messageId}`).toBe(true);
    expect(
      before.some((e) => e.kind === "unsub" && e.email.toLowerCase() === s.to.toLowerCase()),
      `sent after an unsubscribe or bounce: ${s.to}`,
    ).toBe(false);
    const lastSeq = [...before].reverse().find((e) => (e.kind === "seqOff" || e.kind === "seqOn") && e.seq === en!.seq);
    expect(lastSeq?.kind !== "seqOff", `sent while the sequence was off: ${s.messageId}`).toBe(true);
    const lastMb = [...before].reverse().find((e) => (e.kind === "disconnect" || e.kind === "reconnect") && e.mailbox === s.mailbox);
    expect(lastMb?.kind !== "disconnect", `sent while the mailbox was disconnected: ${s.messageId}`).toBe(true);
    // Invariant 7: inside the sequence's window (the contact's zone when it says so), unless a user
    // asked to send this very email now (send now ignores the schedule, never the caps).
    const seq = w.seqs[en!.seq]!;
    expect(
      inWindow(s.at, seq.window, seq.contactZone ? w.zones[en!.contact] : null) || userChoseTime(before, s, "sendNow"),
      `sent outside the window: ${new Date(s.at).toISOString()}`,
    ).toBe(true);
  }

  // Invariant 3: caps in every rolling window, and the gap.
  for (const [k, mb] of w.mailboxes.entries()) {
    const times = sends
      .filter((s) => s.mailbox === mb)
      .map((s) => s.at)
      .sort((a, b) => a - b);
    const lim = w.limits[k]!;
    for (let i = 0; i < times.length; i++) {
      expect(times.filter((x) => x > times[i]! - DAY && x <= times[i]!).length, `mailbox ${k} over its daily cap`).toBeLessThanOrEqual(
        lim.daily,
      );
      expect(times.filter((x) => x > times[i]! - HOUR && x <= times[i]!).length, `mailbox ${k} over its hourly cap`).toBeLessThanOrEqual(
        lim.hourly,
      );
      if (i) expect(times[i]! - times[i - 1]!, `mailbox ${k} sends closer than the gap`).toBeGreaterThanOrEqual(lim.gapSeconds * 1000);
    }
    // The ledger agrees with the transport: nothing left in flight or unreported, every counted row was a call.
    const { queue } = await mailboxLedger(mb);
    expect(
      queue.filter((r) => r.state === "sending" || !r.reported),
      `mailbox ${k}: sends left in flight or unreported`,
    ).toEqual([]);
    const called = new Set(sends.filter((s) => s.mailbox === mb).map((s) => `${s.enrollmentId}:${s.stepId}`));
    for (const r of queue)
      if (["sent", "unknown", "bounced"].includes(r.state))
        expect(called.has(`${r.enrollment_id}:${r.step_id}`), "a ledger send with no transport call").toBe(true);
  }

  // Invariant 2: each send after its step's wait from the previous send of the enrollment (or the
  // enrollment's start); in step order when the steps were never reordered or toggled.
  const reshaped = new Set(w.log.flatMap((e) => (e.kind === "reorder" || e.kind === "toggle" ? [e.seq] : [])));
  const byEnrollment = new Map<string, typeof sends>();
  for (const s of sends) byEnrollment.set(s.enrollmentId, [...(byEnrollment.get(s.enrollmentId) ?? []), s]);
  for (const [id, list] of byEnrollment) {
    const en = seqOf.get(id)!;
    const seq = w.seqs[en.seq]!;
    let prev = created.get(id)!;
    for (const s of list) {
      const k = seq.stepIds.indexOf(s.stepId);
      const def = seq.steps[k]!;
      // A user's "send now" or "reschedule" of this email waives its wait (what they asked for).
      if (!userChoseTime(w.log.slice(0, s.i), s))
        expect(s.at, `step ${k + 1} sent before its wait`).toBeGreaterThanOrEqual(addWait(prev, def.wait, def.unit, false, seq.window));
      prev = s.at;
    }
    if (!reshaped.has(en.seq)) {
      const order = list.map((s) => seq.stepIds.indexOf(s.stepId));
      expect(order, "steps out of order").toEqual([...order].sort((a, b) => a - b));
    }
  }

  // Invariants 1 and 10: at most one open enrollment per contact and sequence; nothing stranded (every
  // enrollment ended, or is paused by a user, after the world settled); a reason on each; D1 agrees.
  const open = new Map<string, number>();
  for (const [id, e] of state) {
    expect(e.reason === null || e.reason in REASONS || e.reason === "withdrawn", `unknown reason ${e.reason}`).toBe(true);
    if (["active", "paused", "held"].includes(e.status))
      open.set(`${seqOf.get(id)?.seq}:${e.contact_id}`, (open.get(`${seqOf.get(id)?.seq}:${e.contact_id}`) ?? 0) + 1);
    const settled = ["finished", "removed", "failed"].includes(e.status) || (e.status === "paused" && e.reason === "paused_by_user");
    expect(settled, `enrollment stranded: ${e.status} (${e.reason}, waiting ${e.waiting})`).toBe(true);
    expect(e.reason, `enrollment ${e.status} without a reason`).not.toBeNull();
  }
  for (const n of open.values()) expect(n).toBeLessThanOrEqual(1);
  // Skipped emails never go out; sends carry the last edit answered "saved", never one refused.
  checkScheduledEmails(w.log);
  for (const s of w.seqs) {
    const d1 = (
      await env.DB.prepare("SELECT id, status, reason, current_step, next_due_at FROM enrollments WHERE sequence_id = ?")
        .bind(s.id)
        .all<{ id: string; status: string; reason: string | null; current_step: number; next_due_at: number | null }>()
    ).results;
    for (const r of d1) {
      const e = state.get(r.id);
      // The step and (for an active enrollment) its due time too: the mirror may send them without the rest of the row.
      expect([r.status, r.reason, r.current_step], "D1 mirror differs from the SequenceDO").toEqual([e?.status, e?.reason, e?.step_pos]);
      if (r.status === "active") expect(r.next_due_at, "D1 mirror's due time differs from the SequenceDO").toBe(e?.due_at);
    }
    // The sequence list's counts and the enrollments page's groups, kept by triggers on what the mirror and
    // the outbox wrote, agree with those rows.
    const { stored, truth } = await sequenceCountsVsTruth(s.id);
    expect(stored, "sequence_counts differ from the enrollments and emails").toEqual(truth);
    const groups = await enrollmentGroupsVsTruth(s.id);
    expect(groups.stored, "enrollment_groups differ from the enrollments").toEqual(groups.truth);
  }
}

/** After the commands: every mailbox connected, every sequence on, time runs until all work is done. */
async function settle(w: World) {
  for (const mb of w.mailboxes) {
    w.log.push({ kind: "reconnect", at: now(), mailbox: mb });
    await setMailboxStatus(mb, "connected");
  }
  for (const [i, s] of w.seqs.entries()) {
    // A sequence left with every step off gets one back on first, as the user must before turning it on.
    const on = await env.DB.prepare(
      "UPDATE steps SET enabled = 1 WHERE id = ? AND NOT EXISTS (SELECT 1 FROM steps o WHERE o.sequence_id = steps.sequence_id AND o.enabled = 1)",
    )
      .bind(s.stepIds[0])
      .run();
    if (on.meta.changes) w.log.push({ kind: "toggle", at: now(), seq: i });
    await env.DB.prepare("UPDATE sequences SET active = 1 WHERE id = ?").bind(s.id).run();
    await sequenceStub(env, s.id).activate(s.id, w.teamId);
    w.log.push({ kind: "seqOn", at: now(), seq: i });
  }
  await drive(w, now() + 30 * DAY);
}

// ---------------------------------------------------------------- runs

const stepArb = fc.record({ wait: fc.integer({ min: 0, max: 90 }), unit: fc.constantFrom("minutes" as const, "hours" as const) });
const paramsArb = fc.record({
  sequences: fc.array(
    fc.record({ steps: fc.array(stepArb, { minLength: 1, maxLength: 3 }), daytime: fc.boolean(), contactZone: fc.boolean() }),
    { minLength: 2, maxLength: 2 },
  ),
  mailboxes: fc.array(
    fc.record({
      daily: fc.integer({ min: 3, max: 40 }),
      hourly: fc.integer({ min: 1, max: 10 }),
      gapSeconds: fc.integer({ min: 0, max: 300 }),
    }),
    { minLength: 2, maxLength: 2 },
  ),
  contacts: fc.integer({ min: 3, max: 8 }),
});
type WorldParams = typeof paramsArb extends fc.Arbitrary<infer T> ? T : never;

describe("sending engine, model-based (two sequences sharing two mailboxes)", () => {
  let worlds: World[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => {
    for (const w of worlds) for (const mb of w.mailboxes) setTransportOverride(mb, null);
    worlds = [];
  });

  const stats = { runs: 0, sends: 0, commands: 0 };
  it(
    "keeps every invariant under random adds, stops, pauses, restarts, repeated alarms, interleavings and time jumps",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          paramsArb,
          creditParamsArb,
          fc.commands(commands, { maxCommands: 40, size: "+1" }),
          async (params, credits, cmds) => {
            startSimulation(SIM_START + 13 * HOUR);
            const w = await makeWorld(params);
            worlds.push(w);
            // Everyone in both sequences at the start; the commands add more (and re-add finished ones).
            for (const [seq] of w.seqs.entries()) {
              for (const [contact] of w.contacts.entries()) {
                const id = newId();
                const res = await sequenceStub(env, w.seqs[seq]!.id).enroll(w.seqs[seq]!.id, w.teamId, [
                  {
                    enrollmentId: id,
                    contactId: w.contacts[contact]!,
                    mailboxId: w.mailboxes[(seq + contact) % 2]!,
                    score: (contact * 37) % 100,
                    timeZone: w.zones[contact]!,
                  },
                ]);
                if (res.enrolled.length) {
                  w.enrollments.push({ id, seq, contact });
                  w.log.push({ kind: "add", at: now(), enrollmentId: id, seq, contact });
                }
              }
            }
            await setupCredits(w, credits);
            await fc.asyncModelRun(() => ({ model: {}, real: w }), cmds);
            await settleCredits(w, drive);
            await settle(w);
            await checkInvariants(w);
            await checkCredits(w);
            stats.runs++;
            stats.sends += w.log.filter((e) => e.kind === "send").length;
            stats.commands += [...cmds].length;
          },
        ),
        { seed: 9_0909, numRuns: RUNS, endOnFailure: true },
      );
      console.log(`engine model: ${stats.runs} runs, ${stats.commands} commands, ${stats.sends} sends at the transport`);
      console.log(
        `scheduled emails (answered ok / asked): ${Object.entries(choiceStats)
          .map(([k, v]) => `${k} ${v.ok}/${v.asked}`)
          .join(", ")}`,
      );
      console.log(
        `credits: ${creditStats.commits} commits (${creditStats.refused} refused), ${creditStats.jobs} jobs, ${creditStats.deliveries} deliveries, ${creditStats.crashes} crashes, ${creditStats.charged} credits charged`,
      );
    },
    Math.max(120_000, RUNS * 30_000),
  );

  it("keeps them at size: batches above DUE_BATCH (500) and MAX_SENDS_PER_RUN (50), with the two objects interleaved", async () => {
    startSimulation(SIM_START);
    const w = await makeWorld({
      sequences: [
        { steps: [{ wait: 0, unit: "minutes" }], daytime: false, contactZone: false },
        {
          steps: [
            { wait: 0, unit: "minutes" },
            { wait: 30, unit: "minutes" },
          ],
          daytime: false,
          contactZone: false,
        },
      ],
      mailboxes: [
        { daily: 2_000, hourly: 400, gapSeconds: 0 },
        { daily: 2_000, hourly: 400, gapSeconds: 0 },
      ],
      contacts: 560,
    });
    worlds.push(w);
    for (const [seq, s] of w.seqs.entries()) {
      const take = seq === 0 ? w.contacts : w.contacts.slice(0, 40);
      const items = take.map((c, i) => ({
        enrollmentId: newId(),
        contactId: c,
        mailboxId: w.mailboxes[i % 2]!,
        score: (i * 37) % 100,
        timeZone: w.zones[i]!,
      }));
      await sequenceStub(env, s.id).enroll(s.id, w.teamId, items);
      for (const [i, it] of items.entries()) {
        w.enrollments.push({ id: it.enrollmentId, seq, contact: i });
        w.log.push({ kind: "add", at: now(), enrollmentId: it.enrollmentId, seq, contact: i });
      }
    }
    // Replies and pauses land while both objects work; one mailbox restarts mid-pass.
    const [reply, pause, restart] = [commands[3]!, commands[1]!, commands[8]!];
    const script: Cmd[] = [
      ...fc.sample(reply, { seed: 1, numRuns: 5 }),
      ...fc.sample(pause, { seed: 2, numRuns: 5 }),
      ...fc.sample(restart, { seed: 3, numRuns: 2 }),
    ];
    const t0 = now();
    await drive(w, t0, true, 3); // the first alarms of all four objects, together
    for (const c of script) {
      await c.run({}, w);
      await drive(w, now() + 10 * MIN, true, 20);
    }
    await settle(w);
    await checkInvariants(w);
    const sent = new Set(w.log.filter((e) => e.kind === "send").map((e) => (e as { messageId: string }).messageId));
    expect(sent.size).toBeGreaterThan(560);
  }, 120_000);
});
