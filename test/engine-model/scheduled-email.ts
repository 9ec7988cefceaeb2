// The model checker's commands for one scheduled email acted on by a user (issue 12 item 8): send now,
// skip, reschedule and edit, each landing while both objects' alarms run (between any two of their
// awaits), and the invariants they add: a skip answered "skipped" never reaches the transport, a send
// carries the last edit answered "saved" (never one refused), a send ahead of its wait or outside the
// window is one a user asked for. The engine model's own checks (caps, never twice, never after a stop
// or an unsubscribe) cover these commands as they cover the others.
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { expect } from "vitest";
import { engine } from "../../durable-objects/engine";
import { now } from "../../worker/lib/clock";
import { nextWindowStart, type WindowSpec } from "../../worker/services/schedule-time";
import { MIN } from "../fixtures";
import { env } from "../helpers";

export type ChoiceHow = "sendNow" | "skip" | "reschedule" | "edit";

interface ChoiceEvent {
  kind: "choice";
  at: number;
  enrollmentId: string;
  stepId: string;
  how: ChoiceHow;
  ok: boolean;
  marker?: string;
}
interface SendLike {
  kind: string;
  enrollmentId?: string;
  stepId?: string;
  messageId?: string;
  edit?: string | null;
  at: number;
}

export interface ScheduledWorld {
  teamId: string;
  seqs: { id: string; window: WindowSpec; contactZone: boolean }[];
  zones: (string | null)[];
  enrollments: { id: string; seq: number; contact: number }[];
  log: { push(...e: ChoiceEvent[]): number };
}
type Drive<W> = (w: W, until: number, together?: boolean, maxEvents?: number) => Promise<void>;
type Cmd<W> = fc.AsyncCommand<object, W>;

const cmd = <W>(name: string, run: (w: W) => Promise<void>): Cmd<W> => ({
  check: () => true,
  run: async (_m, w) => run(w),
  toString: () => name,
});

/** The step an enrollment is on now, as its SequenceDO holds it. */
async function currentStep(sequenceId: string, enrollmentId: string): Promise<string | null> {
  const stub = env.SEQUENCE_DO.get(env.SEQUENCE_DO.idFromName(sequenceId)) as unknown as DurableObjectStub;
  const st = await (
    runInDurableObject as unknown as (
      s: DurableObjectStub,
      f: (o: {
        inspect(): Promise<{ enrollments: { id: string; step_id: string | null }[] }>;
      }) => Promise<{ enrollments: { id: string; step_id: string | null }[] }>,
    ) => Promise<{ enrollments: { id: string; step_id: string | null }[] }>
  )(stub, (o) => o.inspect());
  return st.enrollments.find((e) => e.id === enrollmentId)?.step_id ?? null;
}

let edits = 0;
/** What the runs did: actions asked, and answered ok, per kind (printed by the model test). */
export const choiceStats: Record<ChoiceHow, { asked: number; ok: number }> = {
  sendNow: { asked: 0, ok: 0 },
  skip: { asked: 0, ok: 0 },
  reschedule: { asked: 0, ok: 0 },
  edit: { asked: 0, ok: 0 },
};

export function scheduledEmailCommands<W extends ScheduledWorld>(drive: Drive<W>): fc.Arbitrary<Cmd<W>>[] {
  const one = scheduledEmailCommand(drive);
  // Three times in the list: picked as often as three other commands, so each run asks several.
  return [one, one, one];
}

function scheduledEmailCommand<W extends ScheduledWorld>(drive: Drive<W>): fc.Arbitrary<Cmd<W>> {
  return fc
    .record({
      e: fc.nat(),
      how: fc.constantFrom<ChoiceHow>("sendNow", "skip", "reschedule", "edit"),
      ticks: fc.integer({ min: 0, max: 12 }),
      minutes: fc.integer({ min: 0, max: 24 * 60 }),
      later: fc.integer({ min: 1, max: 3 * 24 * 60 }),
    })
    .map(({ e, how, ticks, minutes, later }) =>
      cmd<W>(`scheduled(${how},${e},${ticks},${minutes},${later})`, async (w) => {
        const en = w.enrollments.length ? w.enrollments[e % w.enrollments.length]! : null;
        const driving = drive(w, now() + minutes * MIN, true, 40);
        for (let i = 0; i < ticks; i++) await new Promise((r) => setTimeout(r, 0));
        if (en) {
          const seq = w.seqs[en.seq]!;
          const stepId = await currentStep(seq.id, en.id);
          if (stepId) {
            const verbs = engine.sequence(env, seq.id, w.teamId);
            const key = { enrollmentId: en.id, stepId };
            const marker = (++edits).toString(16);
            const res =
              how === "sendNow"
                ? await verbs.sendNow(key)
                : how === "skip"
                  ? await verbs.skipEmail(key)
                  : how === "edit"
                    ? await verbs.editEmail(key, { subject: null, body: `EDIT-${marker} for {{first_name}}` })
                    : await verbs.rescheduleEmail(
                        key,
                        nextWindowStart(now() + later * MIN, seq.window, seq.contactZone ? w.zones[en.contact] : null) ??
                          now() + later * MIN,
                      );
            choiceStats[how].asked++;
            if (res.ok) choiceStats[how].ok++;
            w.log.push({
              kind: "choice",
              at: now(),
              enrollmentId: en.id,
              stepId,
              how,
              ok: res.ok,
              ...(how === "edit" ? { marker } : {}),
            });
          }
        }
        await driving;
      }),
    );
}

/** Did a user ask for this very email's time (send now, or also reschedule) before it went? */
export function userChoseTime(before: readonly SendLike[], s: { enrollmentId: string; stepId: string }, only?: ChoiceHow): boolean {
  return before.some(
    (e) =>
      e.kind === "choice" &&
      e.enrollmentId === s.enrollmentId &&
      e.stepId === s.stepId &&
      ((e as ChoiceEvent).how === "sendNow" || (!only && (e as ChoiceEvent).how === "reschedule")),
  );
}

/**
 * A skip answered "skipped" means that email never reached the transport, before or after; a send
 * carries the last edit answered "saved" before it (or, while that answer was on its way, a later
 * one), and never the text of an edit that was refused.
 */
export function checkScheduledEmails(log: readonly SendLike[]) {
  const skipped = new Set<string>();
  const refused = new Set<string>();
  for (const e of log) {
    if (e.kind !== "choice") continue;
    const c = e as ChoiceEvent;
    if (c.how === "skip" && c.ok) skipped.add(`${c.enrollmentId}:${c.stepId}`);
    if (c.how === "edit" && !c.ok && c.marker) refused.add(c.marker);
  }
  for (const [i, s] of log.entries()) {
    if (s.kind !== "send") continue;
    const key = `${s.enrollmentId}:${s.stepId}`;
    expect(skipped.has(key), `an email answered "skipped" reached the transport: ${s.messageId}`).toBe(false);
    if (s.edit) expect(refused.has(s.edit), `a refused edit reached the transport: ${s.messageId}`).toBe(false);
    const saved = log
      .slice(0, i)
      .filter((e): e is ChoiceEvent => e.kind === "choice" && (e as ChoiceEvent).how === "edit" && (e as ChoiceEvent).ok)
      .filter((e) => `${e.enrollmentId}:${e.stepId}` === key);
    const last = saved[saved.length - 1];
    if (last) {
      // A later edit may have been saved while this one's answer was on its way: never an older one.
      const savedAfter = log.filter(
        (e): e is ChoiceEvent =>
          e.kind === "choice" &&
          (e as ChoiceEvent).how === "edit" &&
          `${(e as ChoiceEvent).enrollmentId}:${(e as ChoiceEvent).stepId}` === key,
      );
      const newer = savedAfter.slice(savedAfter.indexOf(last)).map((e) => e.marker);
      expect(
        newer.includes(s.edit ?? undefined),
        `a send without the last saved edit: ${s.messageId} carried ${s.edit}, saved ${last.marker}`,
      ).toBe(true);
    }
  }
}
