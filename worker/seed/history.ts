import { sql } from "drizzle-orm";
import { bulkInsertSql, type Row } from "../db/bulk";
import type { BatchStatement, Db } from "../db/client";
import { autoWinnerStatement, winnerStatements } from "../services/reports/ab";
import { Rng, seedId } from "./random";
import { REPLY_OTHER, REPLY_POSITIVE } from "./vocab";

/**
 * About 60 days of past activity for the demo workspace (issue 14), so reports and the home screen
 * show a believable past: emails per step and mailbox, replies (some positive, some out-of-office),
 * bounces, unsubscribes, finished and paused contacts, completed and overdue tasks, a finished A/B
 * test with a clear winner (Enterprise outbound, step 1: B) and one still running (Webinar follow-up).
 *
 * Deterministic: fixed ids and a seeded PRNG; the same rows on every machine, dated relative to the
 * UTC day the seed runs (like the seeded tasks) so the demo's past ends yesterday. Every contact's
 * fate is drawn from fixed rates, and only contacts that really bounced or unsubscribed in the seed
 * get those outcomes, so the contacts, suppressions and history agree.
 */
const DAY = 86_400_000;
const HOUR = 3_600_000;

export interface HistoryContact {
  id: string;
  firstName: string;
  company: string;
  email: string | null;
  unsub: boolean;
  bounced: boolean;
  dnc: boolean;
  /** The contact's stage before any of its history (what a reply's effect moved it from). */
  stageId: string;
  /** Already open or finished in a seeded sequence: [sequence index] (kept out of that sequence's history). */
  inSequence: ReadonlySet<number>;
}

export interface HistoryIds {
  team: string;
  users: { admin: string; rep1: string; rep2: string };
  mailboxes: readonly string[];
  sequences: readonly [string, string, string];
  steps: Record<number, string>;
  variants: Record<number, string>;
  stages: { replied: string; interested: string };
}

/** Tags of the history's fixed ids (kept apart from the rest of the seed's). */
const TAG = { enrollment: 0x10, message: 0x11, task: 0x12, audit: 0x13, meeting: 0x14, inbound: 0x15 } as const;

/** Past answers older than this were reviewed in the inbox; the latest ones wait there for a person. */
const REVIEWED_AFTER = 3 * DAY;

/** The enrollment columns both seed files write (the demo's open enrollments and this history). */
export const ENROLLMENT_COLUMNS = [
  "id",
  "team_id",
  "sequence_id",
  "contact_id",
  "mailbox_id",
  "status",
  "current_step",
  "next_due_at",
  "reason",
  "added_by",
  "created_at",
  "updated_at",
  "finished_at",
] as const;
const MESSAGE_COLUMNS = [
  "id",
  "team_id",
  "enrollment_id",
  "sequence_id",
  "step_id",
  "variant_id",
  "mailbox_id",
  "contact_id",
  "to_email",
  "subject",
  "body",
  "message_id_header",
  "in_reply_to",
  "status",
  "error",
  "scheduled_at",
  "sent_at",
  "replied_at",
  "reply_kind",
  "created_at",
] as const;
const INBOUND_COLUMNS = [
  "id",
  "team_id",
  "sequence_id",
  "enrollment_id",
  "contact_id",
  "message_id",
  "header_id",
  "from_email",
  "subject",
  "snippet",
  "body",
  "detected",
  "classification",
  "evidence",
  "return_at",
  "effect",
  "received_at",
  "reviewed_at",
  "reviewed_by",
] as const;
const TASK_COLUMNS = [
  "id",
  "team_id",
  "enrollment_id",
  "sequence_id",
  "step_id",
  "contact_id",
  "assignee_id",
  "type",
  "note",
  "due_at",
  "status",
  "completed_at",
  "created_at",
] as const;

interface EmailStep {
  kind: "email";
  position: number;
  step: number;
  /** [variant key, reply rate] */
  variants: readonly (readonly [number, number])[];
  dayOffset: number;
  subject: string;
  body: string;
}
interface TaskStep {
  kind: "task";
  position: number;
  step: number;
  type: string;
  note: string;
  dayOffset: number;
}
type Plan = {
  sequence: 0 | 1 | 2;
  owner: "admin" | "rep1" | "rep2";
  addedBy: readonly ("admin" | "rep1" | "rep2")[];
  share: number;
  /** Enrolled between these many days ago. */
  days: readonly [number, number];
  steps: readonly (EmailStep | TaskStep)[];
  /** Chance that a bounced-flag contact is enrolled here (the bounces of this sequence). */
  bounceShare: number;
};

const PLANS: readonly Plan[] = [
  {
    sequence: 0,
    owner: "admin",
    addedBy: ["admin", "admin", "rep1"],
    share: 0.55,
    days: [62, 11],
    bounceShare: 0.25,
    steps: [
      {
        kind: "email",
        position: 1,
        step: 1,
        variants: [
          [1, 0.04],
          [2, 0.16],
        ],
        dayOffset: 0,
        subject: "",
        body: "",
      },
      { kind: "email", position: 2, step: 2, variants: [[3, 0.045]], dayOffset: 2, subject: "", body: "" },
      { kind: "task", position: 3, step: 3, type: "call", note: "Call about the pilot; mention their team size.", dayOffset: 5 },
      { kind: "email", position: 4, step: 4, variants: [[4, 0.03]], dayOffset: 9, subject: "", body: "" },
    ],
  },
  {
    sequence: 1,
    owner: "rep1",
    addedBy: ["rep1", "rep1", "admin"],
    share: 0.3,
    days: [45, 4],
    bounceShare: 0.15,
    steps: [
      {
        kind: "email",
        position: 1,
        step: 5,
        variants: [
          [5, 0.09],
          [6, 0.105],
        ],
        dayOffset: 0,
        subject: "",
        body: "",
      },
      { kind: "task", position: 2, step: 6, type: "linkedin_connect", note: "Connect with a note about the webinar.", dayOffset: 1 },
      { kind: "task", position: 3, step: 7, type: "task", note: "Check if they opened the recording; book a call.", dayOffset: 3 },
    ],
  },
  {
    // Old closed-lost data: it bounced too much and was turned off (the home screen flags it).
    sequence: 2,
    owner: "rep2",
    addedBy: ["rep2"],
    share: 0.12,
    days: [26, 12],
    bounceShare: 0.6,
    steps: [
      { kind: "email", position: 1, step: 8, variants: [[8, 0.03]], dayOffset: 0, subject: "", body: "" },
      { kind: "email", position: 2, step: 9, variants: [[9, 0.02]], dayOffset: 5, subject: "", body: "" },
    ],
  },
];

/** The variant texts the history's emails were written from (the seeded step variants). */
export type VariantTexts = Record<number, { subject: string; body: string }>;

function render(template: string, c: HistoryContact) {
  return template.replace(
    /\{\{\s*(\w+)\s*(?:\|([^}]*))?\}\}/g,
    (_, k: string, fallback?: string) => (k === "first_name" ? c.firstName : k === "company" ? c.company : "") || fallback || "",
  );
}

export function historyStatements(
  d: Db,
  ids: HistoryIds,
  contacts: readonly HistoryContact[],
  texts: VariantTexts,
  today: number,
  seededAt: number,
): { statements: BatchStatement[]; inbound: BatchStatement[] } {
  // The history is laid out from today's midnight, so what follows an event by hours or days (a task done,
  // a reply, an enrollment finishing three days after its last email) can fall after the seed runs: such a
  // time is the seed's own instant, so no screen shows a contact finished or a task done before it happened.
  const past = (t: number) => Math.min(t, seededAt);
  const rng = new Rng(1414);
  const enrollments: Row[] = [];
  const messages: Row[] = [];
  const tasks: Row[] = [];
  const stageOf = new Map<string, string>();
  const bouncedAt = new Map<string, number>();
  const unsubscribedAt = new Map<string, number>();
  /** The email each opt-out came from (its link), and when: the reports count unsubscribes there. */
  const unsubscribedFrom = new Map<string, number>();
  // Meetings the scheduling tool reported after a positive reply: [id, contact, booked at].
  const meetingRows: [string, string, number][] = [];
  /** Each email's recorded answer (a reply or an out-of-office): the inbound email it came from is stored too. */
  const answers: Answer[] = [];
  let e = 0;
  let m = 0;
  let k = 0;
  const user = (u: "admin" | "rep1" | "rep2") => ids.users[u];

  for (const plan of PLANS) {
    const seqId = ids.sequences[plan.sequence];
    contacts.forEach((c, i) => {
      if (!c.email || c.dnc || c.inSequence.has(plan.sequence)) return;
      // Contacts that bounced or unsubscribed did so in one of these sequences.
      const flagged = c.bounced || c.unsub;
      if (!rng.chance(flagged ? plan.bounceShare : plan.share)) return;
      const enrollmentId = seedId(TAG.enrollment, e++);
      const mailbox = ids.mailboxes[i % ids.mailboxes.length]!;
      const created = today - rng.int(plan.days[1], plan.days[0]) * DAY + rng.int(8, 16) * HOUR;
      const addedBy = user(plan.addedBy[i % plan.addedBy.length]!);
      const pickVariant = (vs: EmailStep["variants"]) => vs[i % vs.length]!;
      // Where this contact's walk ends: a bounce on the first email, an unsubscribe after one, a reply, or the end.
      let status = "finished";
      let reason = "completed_all_steps";
      let position = 0;
      let finishedAt: number | null = null;
      let nextDue: number | null = null;
      let threadHeader: string | null = null;
      for (const step of plan.steps) {
        const at = created + step.dayOffset * DAY + rng.int(0, 5) * HOUR;
        position = step.position;
        if (step.kind === "task") {
          const done = rng.chance(0.85);
          tasks.push([
            seedId(TAG.task, k++),
            ids.team,
            enrollmentId,
            seqId,
            ids.steps[step.step]!,
            c.id,
            user(plan.owner),
            step.type,
            step.note,
            at,
            done ? "completed" : "skipped",
            past(at + rng.int(1, 20) * HOUR),
            at,
          ]);
          finishedAt = past(at + DAY);
          continue;
        }
        const [variantKey, replyRate] = pickVariant(step.variants);
        const text = texts[variantKey]!;
        const messageId = seedId(TAG.message, m++);
        const header = `<sf.${enrollmentId}.${ids.steps[step.step]!}@demo.test>`;
        const subject = text.subject ? render(text.subject, c) : `Re: ${threadHeader ? "our last note" : "following up"}`;
        const bounce = c.bounced && !bouncedAt.has(c.id);
        const unsubscribe = !bounce && c.unsub && !unsubscribedAt.has(c.id);
        const ooo = !bounce && rng.chance(0.04);
        const reply = !bounce && !unsubscribe && rng.chance(replyRate);
        const repliedAt = reply ? past(at + rng.int(2, 40) * HOUR) : ooo ? past(at + rng.int(1, 3) * HOUR) : null;
        // Back two days later unless it pauses the run (below): then on the day the run waits for.
        const answer: Answer | null =
          repliedAt === null
            ? null
            : {
                messageId,
                enrollmentId,
                sequenceId: seqId,
                contact: c,
                subject,
                header,
                kind: reply ? "reply" : "out_of_office",
                at: repliedAt,
                returnAt: reply ? null : today + Math.ceil((repliedAt - today) / DAY) * DAY + 2 * DAY + 9 * HOUR,
                interested: false,
                reviewer: user(plan.owner),
              };
        if (answer) answers.push(answer);
        messages.push([
          messageId,
          ids.team,
          enrollmentId,
          seqId,
          ids.steps[step.step]!,
          ids.variants[variantKey]!,
          mailbox,
          c.id,
          c.email,
          subject,
          render(text.body, c),
          header,
          threadHeader,
          bounce ? "bounced" : "sent",
          bounce ? "550 5.1.1 The email account that you tried to reach does not exist" : null,
          at,
          at,
          repliedAt,
          reply ? "reply" : ooo ? "out_of_office" : null,
          at,
        ]);
        threadHeader = header;
        finishedAt = past(at + 3 * DAY);
        if (bounce) {
          reason = "bounced";
          finishedAt = past(at + HOUR);
          bouncedAt.set(c.id, finishedAt);
          break;
        }
        if (unsubscribe) {
          reason = "unsubscribed";
          finishedAt = past(at + rng.int(2, 30) * HOUR);
          unsubscribedAt.set(c.id, finishedAt);
          unsubscribedFrom.set(messageId, finishedAt);
          break;
        }
        if (reply) {
          reason = "replied";
          finishedAt = repliedAt;
          // A third of replies are positive: the rep moved the contact to Interested.
          const interested = rng.chance(0.35);
          answer!.interested = interested;
          stageOf.set(c.id, interested ? ids.stages.interested : ids.stages.replied);
          // About half of them booked a meeting a day or two later (the report's Meetings).
          // (Chosen by the contact's place, not the random stream, so the rest of the history stays as it was.)
          if (interested && i % 2 === 0) {
            const bookedAt = past(repliedAt! + (4 + (i % 44)) * HOUR);
            meetingRows.push([seedId(TAG.meeting, meetingRows.length + 1), c.id, bookedAt]);
          }
          break;
        }
        if (ooo && rng.chance(0.5) && step.position < plan.steps.length) {
          // Still away: paused until the return date (a few days from today).
          status = "paused";
          reason = "out_of_office";
          finishedAt = null;
          nextDue = today + rng.int(2, 9) * DAY + 9 * HOUR;
          answer!.returnAt = nextDue;
          break;
        }
      }
      if (status === "finished" && reason === "completed_all_steps" && rng.chance(0.02)) reason = "marked_finished";
      enrollments.push([
        enrollmentId,
        ids.team,
        seqId,
        c.id,
        mailbox,
        status,
        position,
        nextDue,
        reason,
        addedBy,
        created,
        finishedAt ?? created,
        finishedAt,
      ]);
    });
  }

  // A few tasks that slipped: open and overdue, on the reps' lists.
  contacts.slice(0, 8).forEach((c, j) => {
    const owner = [ids.users.rep1, ids.users.rep2, ids.users.admin][j % 3]!;
    tasks.push([
      seedId(TAG.task, k++),
      ids.team,
      null,
      null,
      null,
      c.id,
      owner,
      j % 2 ? "call" : "task",
      j % 2 ? "Call back: asked to talk after their board meeting" : "Send the pricing one-pager they asked for",
      today - (1 + (j % 5)) * DAY + 10 * HOUR,
      "open",
      null,
      today - 10 * DAY,
    ]);
  });

  const inbound = inboundRows(ids.team, answers, enrollments, ids.stages, seededAt);

  const json = (rows: [string, string | number][]) => JSON.stringify(rows);
  const t = today;
  // The inbound emails apart: the seed writes them after the planner's statistics (seed/demo.ts).
  const statements = [
    ...bulkInsertSql("enrollments", ENROLLMENT_COLUMNS, enrollments),
    ...bulkInsertSql("messages", MESSAGE_COLUMNS, messages),
    ...bulkInsertSql("tasks", TASK_COLUMNS, tasks),
    ...bulkInsertSql(
      "meetings",
      ["id", "team_id", "contact_id", "booked_at", "source", "created_at"],
      meetingRows.map(([id, contactId, at]) => [id, ids.team, contactId, at, "webhook", at]),
    ),
    // The contacts' state follows their history: stage after a reply, when they bounced or unsubscribed.
    sql`UPDATE contacts SET stage_id = json_extract(j.value, '$[1]'), updated_at = ${t} FROM json_each(${json([...stageOf])}) AS j WHERE contacts.id = json_extract(j.value, '$[0]')`,
    sql`UPDATE contacts SET bounced_at = json_extract(j.value, '$[1]') FROM json_each(${json([...bouncedAt])}) AS j WHERE contacts.id = json_extract(j.value, '$[0]') AND contacts.bounced_at IS NOT NULL`,
    sql`UPDATE contacts SET unsubscribed_at = json_extract(j.value, '$[1]') FROM json_each(${json([...unsubscribedAt])}) AS j WHERE contacts.id = json_extract(j.value, '$[0]') AND contacts.unsubscribed_at IS NOT NULL`,
    sql`UPDATE messages SET unsubscribed_at = json_extract(j.value, '$[1]') FROM json_each(${json([...unsubscribedFrom])}) AS j WHERE messages.id = json_extract(j.value, '$[0]')`,
    // The finished A/B test: B won on step 1 of Enterprise outbound, chosen by the automatic winner
    // (the same statements as a winner chosen on the cron), which stays on.
    ...winnerStatements(d, {
      teamId: ids.team,
      sequenceId: ids.sequences[0],
      stepId: ids.steps[1]!,
      winnerId: ids.variants[2]!,
      userId: null,
      apiKeyId: null,
      automatic: true,
      details: {},
      auditId: seedId(TAG.audit, 1),
      at: t - 8 * DAY,
    }),
    autoWinnerStatement(d, { id: ids.sequences[0], teamId: ids.team }, true, t - 8 * DAY),
  ];
  return { statements, inbound: bulkInsertSql("inbound_messages", INBOUND_COLUMNS, inbound) };
}

/** An email's answer in the history, before it is written as the inbound email that brought it. */
interface Answer {
  messageId: string;
  enrollmentId: string;
  sequenceId: string;
  contact: HistoryContact;
  /** Our email's subject, and its Message-ID (what the answer's In-Reply-To names). */
  subject: string;
  header: string;
  kind: "reply" | "out_of_office";
  at: number;
  returnAt: number | null;
  /** A positive reply: the rep moved the contact to Interested after it. */
  interested: boolean;
  /** Who reviewed it in the inbox (the sequence's owner), when it is old enough to have been. */
  reviewer: string;
}

const day = (at: number) => new Date(at).toISOString().slice(0, 10);

/**
 * The inbound email behind each answer the history records (messages.replied_at), as the email() handler
 * stores it (services/replies.ts recordInbound and applyEffect): so the replies inbox, the reports and the
 * home screen count the same replies, and "Correct it" on one undoes what it did. A reply finished its run
 * and moved the contact to Replied from the stage it was in then (the contact's replies in time order);
 * an out-of-office paused the run until its return date. The effect lists only the answered run: the history
 * has one open run per contact at a time. Its columns are those a stored and applied email has, the effect
 * written with it (no webhook trigger fires: 0065's reply.received needs an unapplied row, and the seed has
 * no subscriptions).
 *
 * The first run still paused by an out-of-office gets its inbound email from seed/inbound.ts (the same
 * handler, "the out-of-office that paused this contact"): it is left out here, so that email is not there twice.
 */
function inboundRows(
  teamId: string,
  answers: readonly Answer[],
  enrollments: readonly Row[],
  stages: HistoryIds["stages"],
  seededAt: number,
): Row[] {
  const paused = enrollments.filter((r) => r[5] === "paused").map((r) => String(r[0]));
  const seedInboundsOwn = paused.length ? paused.reduce((a, b) => (a < b ? a : b)) : null;
  // The contacts' stages as their replies moved them, in the order the replies came.
  const stage = new Map<string, string>();
  const stageFrom = new Map<Answer, string>();
  for (const a of [...answers].sort((x, y) => x.at - y.at)) {
    if (a.kind !== "reply") continue;
    const before = stage.get(a.contact.id) ?? a.contact.stageId;
    if (before !== stages.replied) stageFrom.set(a, before);
    stage.set(a.contact.id, a.interested ? stages.interested : stages.replied);
  }
  const rows: Row[] = [];
  answers.forEach((a, n) => {
    if (a.kind === "out_of_office" && a.enrollmentId === seedInboundsOwn) return;
    const c = a.contact;
    const reply = a.kind === "reply";
    const lines = reply ? (a.interested ? REPLY_POSITIVE : REPLY_OTHER) : null;
    const text = lines
      ? lines[n % lines.length]!
      : `Thanks for your email. I'm out of the office with limited access to email, back on ${day(a.returnAt!)}.`;
    const from = stageFrom.get(a);
    const effect = {
      enrollments: [
        { id: a.enrollmentId, sequenceId: a.sequenceId, action: reply ? "finish" : "pause", reason: reply ? "replied" : "out_of_office" },
      ],
      ...(from !== undefined ? { stageFrom: from } : {}),
    };
    const evidence = reply
      ? { rule: "threaded_reply", header: `In-Reply-To: ${a.header}` }
      : { rule: "auto_reply_with_return_date", header: "Auto-Submitted: auto-replied", phrase: "out of the office" };
    const reviewed = a.at < seededAt - REVIEWED_AFTER;
    rows.push([
      seedId(TAG.inbound, n),
      teamId,
      a.sequenceId,
      a.enrollmentId,
      c.id,
      a.messageId,
      `<history-${n}@mail.demo-prospect.test>`,
      (c.email ?? "").toLowerCase(),
      `${reply ? "Re" : "Out of office"}: ${a.subject}`,
      text,
      `${text}\n\n> ${a.subject}`,
      a.kind,
      a.kind,
      JSON.stringify(evidence),
      a.returnAt,
      JSON.stringify(effect),
      a.at,
      // Reviewed the morning after it came in (never after the seed runs).
      reviewed ? Math.min(a.at + 16 * HOUR, seededAt) : null,
      reviewed ? a.reviewer : null,
    ]);
  });
  return rows;
}
