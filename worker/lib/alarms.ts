import { now } from "./clock";

/**
 * Durable Object alarms go through here: one alarm per object, set to the earliest due time.
 * Tests (and the sending benchmark) drive simulated time: with tracking on, every armed alarm is
 * also recorded in `armedAlarms`, so a driver can run the next due object's alarm at the
 * simulated instant instead of waiting for real time.
 */
export interface ArmedAlarm {
  kind: "sequence" | "mailbox";
  name: string;
  at: number;
}

export const armedAlarms = new Map<string, ArmedAlarm>();
/** With tracking on: every alarm whose work failed (alarmOrRetry logs it and retries), for a driver to surface. */
export const alarmFailures: { kind: ArmedAlarm["kind"]; name: string; error: unknown }[] = [];
let tracking = false;

export function trackAlarms(on: boolean): void {
  tracking = on;
  if (!on) {
    armedAlarms.clear();
    alarmFailures.length = 0;
  }
}

export async function armAlarm(storage: DurableObjectStorage, kind: ArmedAlarm["kind"], name: string, at: number | null): Promise<void> {
  const key = `${kind}:${name}`;
  if (at === null) {
    await storage.deleteAlarm();
    if (tracking) armedAlarms.delete(key);
    return;
  }
  const current = await storage.getAlarm();
  if (current !== at) await storage.setAlarm(at);
  if (tracking) armedAlarms.set(key, { kind, name, at });
}

/** An object whose alarm's work failed (D1 or another object out of reach) tries again after this long. */
export const ALARM_RETRY_MS = 30_000;

/**
 * Runs an alarm's work. When it fails, the error is logged, not rethrown, and the object arms itself
 * to try again ALARM_RETRY_MS later. The runtime retries a throwing alarm six times, the last about two minutes on, then never:
 * an object whose due work is all in the past would be left waiting on nothing. And an alarm the
 * work armed at a past instant before it failed would fire again at once, in a loop against a D1
 * that is down. Returns the instant armed after a failure, or null when the work succeeded.
 */
export async function alarmOrRetry(
  storage: DurableObjectStorage,
  kind: ArmedAlarm["kind"],
  name: string,
  work: () => Promise<void>,
): Promise<number | null> {
  try {
    await work();
    return null;
  } catch (error) {
    console.error(`${kind} ${name}: alarm failed, trying again in ${ALARM_RETRY_MS / 1000} s`, error);
    if (tracking) alarmFailures.push({ kind, name, error });
    // Whatever the work armed before it failed (possibly "at once", for more due work) gives way to the retry.
    return armRetry(storage, kind, name);
  }
}

/** Arms the object's alarm ALARM_RETRY_MS from now (its work failed on something out of reach); returns the instant. */
export async function armRetry(storage: DurableObjectStorage, kind: ArmedAlarm["kind"], name: string): Promise<number> {
  const at = now() + ALARM_RETRY_MS;
  await armAlarm(storage, kind, name, at);
  return at;
}
