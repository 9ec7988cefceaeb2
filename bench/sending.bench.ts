import { it } from "vitest";
import { sequenceStub } from "../durable-objects/engine";
import { newId } from "../worker/lib/ids";
import { env } from "../test/helpers";
import { DAY, makeContacts, makeMailbox, makeSchedule, makeSequence, makeTeam, runUntil, SIM_START, startSimulation } from "../test/fixtures";
import { report } from "./report";

/** BENCH_SCALE=0.1 runs a tenth of the load, for a quick look. */
const ENROLLMENTS = Math.round(50_000 * Number((env as unknown as { BENCH_SCALE: string }).BENCH_SCALE));
const MAILBOXES = 20;
const DAYS = 30;

it(`sending simulation: ${ENROLLMENTS} enrollments, 4 steps, ${MAILBOXES} mailboxes, ${DAYS} days`, async () => {
  startSimulation();
  const { teamId, userId } = await makeTeam("Bench");
  const scheduleId = await makeSchedule(teamId, { timeZone: "America/New_York" });
  const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 2 }, { wait: 3, threadReply: true }, { wait: 4 }], scheduleId);
  const mailboxes: string[] = [];
  for (let i = 0; i < MAILBOXES; i++) mailboxes.push(await makeMailbox(teamId, userId, { daily: 500, hourly: 60, gapSeconds: 0 }));
  const contacts = await makeContacts(teamId, ENROLLMENTS, { score: (i) => (i * 37) % 101 });
  const stub = sequenceStub(env, sequenceId);
  for (let i = 0; i < contacts.length; i += 1000) {
    await stub.enroll(sequenceId, teamId, contacts.slice(i, i + 1000).map((c, k) => ({ enrollmentId: newId(), contactId: c, mailboxId: mailboxes[(i + k) % MAILBOXES]!, score: ((i + k) * 37) % 101, timeZone: null })));
  }
  const t0 = Date.now();
  const events = await runUntil(SIM_START + DAYS * DAY);
  const wall = (Date.now() - t0) / 1000;
  const sent = (await env.DB.prepare("SELECT count(*) n FROM messages WHERE sequence_id = ? AND status = 'sent'").bind(sequenceId).first<{ n: number }>())!.n;
  const finished = (await env.DB.prepare("SELECT count(*) n FROM enrollments WHERE sequence_id = ? AND status = 'finished'").bind(sequenceId).first<{ n: number }>())!.n;
  report("sending_wall_time", wall, "s");
  report("sending_emails_sent", sent, "emails");
  report("sending_per_second", sent / wall, "emails/s");
  report("sending_events", events, "alarms");
  report("sending_enrollments_finished", finished, "enrollments");
});
