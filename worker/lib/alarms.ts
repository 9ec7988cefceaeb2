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
let tracking = false;

export function trackAlarms(on: boolean): void {
  tracking = on;
  if (!on) armedAlarms.clear();
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
