import { hashPassword, sha256Hex } from "../lib/crypto";
import { sql } from "drizzle-orm";
import { bulkInsertSql, type Row } from "../db/bulk";
import { batchSql, db, type BatchStatement, type Db } from "../db/client";
import { ENROLLMENT_COLUMNS, historyStatements, type HistoryContact } from "./history";
import { CONTACT_FROM_PERSON_COLUMNS, contactFromPerson } from "../services/contact-from-person";
import { PEOPLE_COLUMNS, peopleChunks, personOf, type PersonRow } from "./people";
import { Rng, seedId } from "./random";

/**
 * The demo workspace (local only; production seeds nothing). Deterministic: fixed ids and a seeded
 * PRNG. Idempotent: every insert is INSERT OR IGNORE on fixed ids and a marker is written last, so a
 * second run neither duplicates nor wipes data, and a run cut short finishes on the next start.
 */
export const SEED_VERSION = 2;
/** Fixed "now" for seeded facts, so the data is the same on every machine. */
export const SEED_EPOCH = Date.UTC(2026, 9, 1);
const DAY = 86_400_000;

export const DEMO_PASSWORD = "demo1234";
export const DEMO = {
  team: seedId(0x01, 1),
  rival: seedId(0x01, 2),
  admin: seedId(0x02, 1),
  rep1: seedId(0x02, 2),
  rep2: seedId(0x02, 3),
  rivalAdmin: seedId(0x02, 4),
  masterKey: "demo-master-key",
  standardKey: "demo-standard-key",
  rivalKey: "rival-master-key",
} as const;

export interface SeedOptions {
  people: number;
  contacts: number;
  rivalContacts: number;
}

/** Seeded sequences whose SequenceDOs take over their enrollments when the app starts. */
export const SEEDED_SEQUENCES = [
  [seedId(0x0a, 1), DEMO.team],
  [seedId(0x0a, 2), DEMO.team],
  [seedId(0x0a, 3), DEMO.team],
  [seedId(0x0a, 50), DEMO.rival],
] as const;

export const FULL_SEED: SeedOptions = { people: 200_000, contacts: 5_000, rivalContacts: 300 };

const USERS = [
  [DEMO.admin, DEMO.team, "admin@demo.test", "Alex Morgan", "admin"],
  [DEMO.rep1, DEMO.team, "rep1@demo.test", "Riley Chen", "member"],
  [DEMO.rep2, DEMO.team, "rep2@demo.test", "Sam Patel", "member"],
  [DEMO.rivalAdmin, DEMO.rival, "admin@rival.test", "Jordan Rivers", "admin"],
] as const;

const STAGES = [
  ["Cold", "open"],
  ["Approaching", "in_progress"],
  ["Replied", "in_progress"],
  ["Interested", "succeeded"],
  ["Not Interested", "failed"],
  ["Unresponsive", "failed"],
  ["Bad Data", "blocked"],
  ["Changed Job", "blocked"],
  ["Do Not Contact", "dnc"],
] as const;

export const stageId = (team: 1 | 2, i: number) => seedId(0x03, team * 100 + i);

async function isSeeded(d: Db): Promise<boolean> {
  const row = await d.get<{ v: number | null }>(
    sql`SELECT json_extract(settings, '$.seed_version') AS v FROM teams WHERE id = ${DEMO.team}`,
  );
  return (row?.v ?? 0) >= SEED_VERSION;
}

export async function seedDemo(d1: D1Database, opts: SeedOptions = FULL_SEED) {
  // One drizzle handle for the whole seed (it runs outside a request: the dev route, the tests' setup).
  const d = db(d1);
  if (await isSeeded(d)) return { seeded: false as const };
  const started = Date.now();
  const t0 = SEED_EPOCH;

  // Teams, users, keys, stages, schedules, mailboxes, credits: one transaction.
  const hashes = await Promise.all(USERS.map(() => hashPassword(DEMO_PASSWORD)));
  const base: BatchStatement[] = [
    ...bulkInsertSql(
      "teams",
      ["id", "name", "postal_address", "credit_balance", "settings", "created_at"],
      [
        [DEMO.team, "Demo", "Demo Inc., 548 Market St, San Francisco, CA 94104, USA", 25_000, "{}", t0],
        [DEMO.rival, "Rival", "Rival Ltd., 1 Poultry, London EC2R 8EJ, UK", 1_000, "{}", t0],
      ],
    ),
    ...bulkInsertSql(
      "credit_ledger",
      ["id", "team_id", "kind", "amount", "balance_after", "source", "ref", "note", "created_at"],
      [
        [seedId(0x0c, 1), DEMO.team, "grant", 25_000, 25_000, "plan", "seed-grant", "Starter plan credits", t0],
        [seedId(0x0c, 2), DEMO.rival, "grant", 1_000, 1_000, "plan", "seed-grant", "Starter plan credits", t0],
      ],
    ),
    ...bulkInsertSql(
      "users",
      ["id", "team_id", "email", "name", "role", "password_hash", "created_at"],
      USERS.map((u, i) => [...u, hashes[i]!, t0]),
    ),
    ...bulkInsertSql(
      "api_keys",
      ["id", "team_id", "created_by", "name", "kind", "key_hash", "prefix", "created_at"],
      [
        [
          seedId(0x04, 1),
          DEMO.team,
          DEMO.admin,
          "Demo master key",
          "master",
          await sha256Hex(DEMO.masterKey),
          DEMO.masterKey.slice(0, 9),
          t0,
        ],
        [
          seedId(0x04, 2),
          DEMO.team,
          DEMO.admin,
          "Demo standard key",
          "standard",
          await sha256Hex(DEMO.standardKey),
          DEMO.standardKey.slice(0, 9),
          t0,
        ],
        [
          seedId(0x04, 3),
          DEMO.rival,
          DEMO.rivalAdmin,
          "Rival master key",
          "master",
          await sha256Hex(DEMO.rivalKey),
          DEMO.rivalKey.slice(0, 9),
          t0,
        ],
      ],
    ),
    ...bulkInsertSql(
      "contact_stages",
      ["id", "team_id", "name", "category", "position"],
      [
        ...STAGES.map(([n, c], i) => [stageId(1, i), DEMO.team, n, c, i] as Row),
        ...STAGES.map(([n, c], i) => [stageId(2, i), DEMO.rival, n, c, i] as Row),
      ],
    ),
    ...bulkInsertSql(
      "schedules",
      [
        "id",
        "team_id",
        "name",
        "time_zone",
        "windows",
        "holidays",
        "holiday_calendar",
        "use_contact_time_zone",
        "is_default",
        "created_at",
      ],
      [
        [
          seedId(0x05, 1),
          DEMO.team,
          "US business hours",
          "America/New_York",
          JSON.stringify(weekdays("09:00", "17:00")),
          "[]",
          "US",
          0,
          1,
          t0,
        ],
        [
          seedId(0x05, 2),
          DEMO.team,
          "Recipient's mornings",
          "America/New_York",
          JSON.stringify(weekdays("08:00", "11:30")),
          JSON.stringify(["2026-12-24", "2026-12-31"]),
          "US",
          1,
          0,
          t0,
        ],
        [seedId(0x05, 3), DEMO.rival, "UK office hours", "Europe/London", JSON.stringify(weekdays("09:00", "17:30")), "[]", "GB", 0, 1, t0],
      ],
    ),
    ...bulkInsertSql(
      "mailboxes",
      [
        "id",
        "team_id",
        "user_id",
        "email",
        "sender_name",
        "signature",
        "transport",
        "daily_limit",
        "hourly_limit",
        "min_gap_seconds",
        "jitter_seconds",
        "status",
        "created_at",
        "updated_at",
      ],
      [
        [
          seedId(0x06, 1),
          DEMO.team,
          DEMO.admin,
          "alex@demo.test",
          "Alex Morgan",
          "Alex Morgan\nHead of Sales, Demo Inc.",
          "outbox",
          200,
          40,
          30,
          15,
          "connected",
          t0,
          t0,
        ],
        [
          seedId(0x06, 2),
          DEMO.team,
          DEMO.rep1,
          "riley@demo.test",
          "Riley Chen",
          "Riley Chen · Account Executive",
          "outbox",
          150,
          30,
          45,
          20,
          "connected",
          t0,
          t0,
        ],
        [
          seedId(0x06, 3),
          DEMO.team,
          DEMO.rep2,
          "sam@demo.test",
          "Sam Patel",
          "Sam Patel · SDR",
          "outbox",
          100,
          20,
          60,
          30,
          "connected",
          t0,
          t0,
        ],
        [
          seedId(0x06, 4),
          DEMO.team,
          DEMO.admin,
          "outreach@demo.test",
          "Demo Outreach",
          "The Demo team",
          "outbox",
          50,
          10,
          120,
          60,
          "connected",
          t0,
          t0,
        ],
        [
          seedId(0x06, 5),
          DEMO.rival,
          DEMO.rivalAdmin,
          "jordan@rival.test",
          "Jordan Rivers",
          "Jordan · Rival Ltd.",
          "outbox",
          100,
          20,
          60,
          30,
          "connected",
          t0,
          t0,
        ],
      ],
    ),
  ];
  await batchSql(d, base);

  // The prospect database, streamed in chunks; the contacts are taken from it as it goes by.
  const demoEvery = Math.max(1, Math.floor(opts.people / opts.contacts));
  const rivalEvery = Math.max(1, Math.floor(opts.people / opts.rivalContacts));
  const demoPeople: PersonRow[] = [];
  const rivalPeople: PersonRow[] = [];
  let n = 0;
  for (const chunk of peopleChunks(opts.people, 20_000, t0)) {
    await batchSql(d, bulkInsertSql("people", PEOPLE_COLUMNS, chunk));
    for (const p of chunk) {
      if (n % demoEvery === 0 && demoPeople.length < opts.contacts) demoPeople.push(p);
      if (n % rivalEvery === 3 % rivalEvery && rivalPeople.length < opts.rivalContacts) rivalPeople.push(p);
      n++;
    }
  }

  const inbound = await seedContacts(d, demoPeople, rivalPeople, t0);
  // Fresh statistics for the query planner after the bulk load.
  await d.run(sql`PRAGMA optimize`);
  // The history's inbound emails after them: a few hundred rows (fifty in the tests' seed) would have the planner
  // scan inbound_messages rather than use its indexes, which a team's replies outgrow (test/api/round-trips).
  await batchSql(d, inbound);
  await d.run(
    sql`UPDATE teams SET settings = json_set(settings, '$.seed_version', ${SEED_VERSION}) WHERE id IN (${DEMO.team}, ${DEMO.rival})`,
  );
  return { seeded: true as const, ms: Date.now() - started, people: opts.people, contacts: demoPeople.length + rivalPeople.length };
}

function weekdays(from: string, to: string) {
  return Object.fromEntries([1, 2, 3, 4, 5].map((d) => [String(d), [[from, to]]]));
}

/** Contacts from the prospect database, as add-contacts saves them, and when they unsubscribed or bounced. */
const CONTACT_COLUMNS = [...CONTACT_FROM_PERSON_COLUMNS, "unsubscribed_at", "bounced_at"];

async function seedContacts(d: Db, demoPeople: PersonRow[], rivalPeople: PersonRow[], t0: number) {
  const rng = new Rng(7);
  const owners = [DEMO.admin, DEMO.rep1, DEMO.rep2];
  const contactRows: Row[] = [];
  const suppressionRows: Row[] = [];
  const demoIds: string[] = [];
  const flags: { unsub: boolean; bounced: boolean; dnc: boolean; hasEmail: boolean; stageId: string }[] = [];

  demoPeople.forEach((p, i) => {
    const id = seedId(0x07, i);
    const unsub = rng.chance(0.02);
    const bounced = !unsub && rng.chance(0.015);
    const dnc = rng.chance(0.02);
    const stage = dnc
      ? 8
      : rng.weighted([
          [0, 70],
          [1, 12],
          [2, 5],
          [3, 4],
          [4, 3],
          [5, 3],
          [6, 2],
          [7, 1],
        ] as const);
    const created = t0 - rng.int(1, 365) * DAY;
    const email = p[13];
    contactRows.push([
      ...contactFromPerson(personOf(p), {
        id,
        teamId: DEMO.team,
        ownerId: owners[i % 3]!,
        stageId: stageId(1, stage),
        email,
        emailStatus: p[14],
        source: "prospect_search",
        at: created,
      }),
      unsub ? created + DAY : null,
      bounced ? created + 2 * DAY : null,
    ]);
    if (email && (unsub || bounced))
      suppressionRows.push([seedId(0x08, i), DEMO.team, email, unsub ? "unsubscribed" : "bounced", "seed", created + DAY]);
    demoIds.push(id);
    flags.push({ unsub, bounced, dnc, hasEmail: email !== null, stageId: stageId(1, stage) });
  });
  rivalPeople.forEach((p, i) => {
    const created = t0 - rng.int(1, 200) * DAY;
    contactRows.push([
      ...contactFromPerson(personOf(p), {
        id: seedId(0x07, 100_000 + i),
        teamId: DEMO.rival,
        ownerId: DEMO.rivalAdmin,
        stageId: stageId(2, 0),
        email: p[13],
        emailStatus: p[14],
        source: "prospect_search",
        at: created,
      }),
      null,
      null,
    ]);
  });

  // Lists: overlapping slices, as real lists are.
  const listDefs: [number, string, string, number, number][] = [
    [1, "Q4 Enterprise targets", DEMO.admin, 0, 0.3],
    [2, "Webinar attendees — Nov", DEMO.rep1, 0.25, 0.45],
    [3, "SaaS founders", DEMO.rep2, 0.5, 0.58],
    [4, "Re-engage: closed-lost", DEMO.admin, 0.6, 0.72],
    [5, "Conference leads — SaaStr", DEMO.rep1, 0.7, 0.9],
  ];
  const listRows: Row[] = listDefs.map(([k, name, owner]) => [seedId(0x09, k), DEMO.team, owner, name, t0 - k * DAY]);
  listRows.push([seedId(0x09, 50), DEMO.rival, DEMO.rivalAdmin, "Rival prospects", t0]);
  const memberRows: Row[] = [];
  for (const [k, , , from, to] of listDefs) {
    for (let i = Math.floor(from * demoIds.length); i < Math.floor(to * demoIds.length); i++)
      memberRows.push([seedId(0x09, k), demoIds[i]!, DEMO.team, t0 - k * DAY]);
  }
  rivalPeople.forEach((_, i) => memberRows.push([seedId(0x09, 50), seedId(0x07, 100_000 + i), DEMO.rival, t0]));

  // Sequences with steps; some contacts already active or finished in them.
  const seq = (k: number) => seedId(0x0a, k);
  const sequenceRows: Row[] = [
    [seq(1), DEMO.team, DEMO.admin, "Enterprise outbound — Q4", 1, seedId(0x05, 1), JSON.stringify({ finish_on_reply: true }), t0, t0],
    [seq(2), DEMO.team, DEMO.rep1, "Webinar follow-up", 1, seedId(0x05, 1), JSON.stringify({ finish_on_reply: true }), t0, t0],
    [seq(3), DEMO.team, DEMO.rep2, "Re-engage closed-lost", 0, seedId(0x05, 2), JSON.stringify({ finish_on_reply: true }), t0, t0],
    [seq(50), DEMO.rival, DEMO.rivalAdmin, "Rival intro", 1, seedId(0x05, 3), JSON.stringify({ finish_on_reply: true }), t0, t0],
  ];
  const st = (k: number) => seedId(0x0b, k);
  // [id, sequence, position, type, wait, unit, thread_reply, note]
  const stepDefs: [string, string, number, string, number, string, number, string][] = [
    [st(1), seq(1), 1, "auto_email", 0, "minutes", 0, ""],
    [st(2), seq(1), 2, "auto_email", 2, "days", 1, ""],
    [st(3), seq(1), 3, "call", 3, "days", 0, "Call about the pilot; mention their team size."],
    [st(4), seq(1), 4, "auto_email", 4, "days", 0, ""],
    [st(5), seq(2), 1, "auto_email", 0, "minutes", 0, ""],
    [st(6), seq(2), 2, "linkedin_connect", 1, "days", 0, "Connect with a note about the webinar."],
    [st(7), seq(2), 3, "task", 2, "days", 0, "Check if they opened the recording; book a call."],
    [st(8), seq(3), 1, "auto_email", 0, "minutes", 0, ""],
    [st(9), seq(3), 2, "auto_email", 5, "days", 1, ""],
    [st(50), seq(50), 1, "auto_email", 0, "minutes", 0, ""],
  ];
  const stepRows: Row[] = stepDefs.map(([id, s, pos, type, wait, unit, thread, note]) => [
    id,
    s === seq(50) ? DEMO.rival : DEMO.team,
    s,
    pos,
    type,
    wait,
    unit,
    0,
    1,
    thread,
    note,
    t0,
  ]);
  const v = (k: number) => seedId(0x0d, k);
  const variantRows: Row[] = [
    [
      v(1),
      DEMO.team,
      st(1),
      "A",
      "{{first_name}}, a faster way to run outbound at {{company}}",
      "Hi {{first_name}},\n\nTeams like {{company}} use Demo to book 30% more meetings without hiring.\n\nWorth a 15-minute look next week?",
      1,
      t0,
    ],
    [
      v(2),
      DEMO.team,
      st(1),
      "B",
      "Quick question about {{company}}'s pipeline",
      "Hi {{first_name|there}},\n\nHow is {{company}} filling pipeline this quarter? We help {{title|sales leaders}} do it with half the manual work.\n\nOpen to a short call?",
      1,
      t0,
    ],
    [
      v(3),
      DEMO.team,
      st(2),
      "A",
      "",
      "Hi {{first_name}}, bumping this up in case it got buried. Happy to send a 2-minute video instead.",
      1,
      t0,
    ],
    [
      v(4),
      DEMO.team,
      st(4),
      "A",
      "Closing the loop",
      "Hi {{first_name}},\n\nI'll stop here. If outbound at {{company}} becomes a priority, just reply and I'll pick it up.",
      1,
      t0,
    ],
    [
      v(5),
      DEMO.team,
      st(5),
      "A",
      "The webinar recording, {{first_name}}",
      "Hi {{first_name}},\n\nThanks for joining. Here is the recording and the slides. What was your main takeaway?",
      1,
      t0,
    ],
    [
      v(6),
      DEMO.team,
      st(5),
      "B",
      "{{first_name}}, your webinar slides",
      "Hi {{first_name}},\n\nAs promised, the slides and recording. Would a 20-minute walkthrough for {{company}} help?",
      1,
      t0,
    ],
    [
      v(8),
      DEMO.team,
      st(8),
      "A",
      "Still looking at outbound tooling?",
      "Hi {{first_name}}, it's been a while. We shipped a lot since we last spoke; want a quick tour?",
      1,
      t0,
    ],
    [v(9), DEMO.team, st(9), "A", "", "Hi {{first_name}}, any thoughts?", 1, t0],
    [v(50), DEMO.rival, st(50), "A", "Hello from Rival", "Hi {{first_name}}, Rival here.", 1, t0],
  ];
  const shareRows: Row[] = [
    [seq(1), DEMO.rep1, DEMO.team, "edit"],
    [seq(1), DEMO.rep2, DEMO.team, "view"],
    [seq(2), DEMO.admin, DEMO.team, "edit"],
  ];

  // Enrollments: a few hundred active in sequence 1, some finished in sequence 2 (eligible contacts only).
  const enrollmentRows: Row[] = [];
  const mailbox = (i: number) => seedId(0x06, 1 + (i % 4));
  let e = 0;
  for (let i = 0; i < demoIds.length; i++) {
    const f = flags[i]!;
    if (f.unsub || f.bounced || f.dnc || !f.hasEmail) continue;
    if (i % 17 === 0)
      enrollmentRows.push([
        seedId(0x0e, e++),
        DEMO.team,
        seq(1),
        demoIds[i]!,
        mailbox(i),
        "active",
        1,
        t0,
        "waiting_for_step",
        DEMO.admin,
        t0 - 3 * DAY,
        t0 - 3 * DAY,
        null,
      ]);
    else if (i % 23 === 0)
      enrollmentRows.push([
        seedId(0x0e, e++),
        DEMO.team,
        seq(2),
        demoIds[i]!,
        mailbox(i),
        "finished",
        3,
        null,
        "completed_all_steps",
        DEMO.rep1,
        t0 - 40 * DAY,
        t0 - 20 * DAY,
        t0 - 20 * DAY,
      ]);
  }

  // A few open tasks (calls, LinkedIn touches, to-dos) around today, so the Tasks screen has work.
  const today = Math.floor(Date.now() / DAY) * DAY;
  const taskKinds = [
    ["call", "Call about the Q4 pilot"],
    ["linkedin_connect", "Connect with a note about the webinar"],
    ["task", "Send the case study they asked for"],
    ["manual_email", "Personal follow-up on pricing"],
  ] as const;
  const taskRows: Row[] = Array.from({ length: 15 }, (_, k) => {
    const [type, note] = taskKinds[k % taskKinds.length]!;
    const contact = demoIds[(k * 7) % demoIds.length]!;
    return [
      seedId(0x0f, k),
      DEMO.team,
      null,
      null,
      null,
      contact,
      owners[k % 3]!,
      type,
      note,
      today + ((k % 5) - 2) * DAY + 15 * 3_600_000,
      "open",
      t0,
    ];
  });

  await batchSql(d, [
    ...bulkInsertSql(
      "tasks",
      [
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
        "created_at",
      ],
      taskRows,
    ),
    ...bulkInsertSql("contacts", CONTACT_COLUMNS, contactRows),
    ...bulkInsertSql("suppressions", ["id", "team_id", "email", "reason", "source", "created_at"], suppressionRows),
    ...bulkInsertSql("lists", ["id", "team_id", "owner_id", "name", "created_at"], listRows),
    ...bulkInsertSql("list_members", ["list_id", "contact_id", "team_id", "added_at"], memberRows),
    ...bulkInsertSql(
      "sequences",
      ["id", "team_id", "owner_id", "name", "active", "schedule_id", "settings", "created_at", "updated_at"],
      sequenceRows,
    ),
    ...bulkInsertSql(
      "steps",
      [
        "id",
        "team_id",
        "sequence_id",
        "position",
        "type",
        "wait_amount",
        "wait_unit",
        "business_days",
        "enabled",
        "thread_reply",
        "note",
        "created_at",
      ],
      stepRows,
    ),
    ...bulkInsertSql("step_variants", ["id", "team_id", "step_id", "label", "subject", "body", "enabled", "created_at"], variantRows),
    ...bulkInsertSql("sequence_shares", ["sequence_id", "user_id", "team_id", "access"], shareRows),
    ...bulkInsertSql("enrollments", ENROLLMENT_COLUMNS, enrollmentRows),
  ]);

  // About 60 days of past activity (worker/seed/history.ts), so reports and the home screen have a past.
  const inSequence = new Map<string, Set<number>>();
  for (const r of enrollmentRows) {
    const k = [seq(1), seq(2), seq(3)].indexOf(r[2] as string);
    if (k >= 0) inSequence.set(r[3] as string, (inSequence.get(r[3] as string) ?? new Set()).add(k));
  }
  const historyContacts: HistoryContact[] = demoPeople.map((p, i) => ({
    id: demoIds[i]!,
    firstName: p[1],
    company: p[6],
    email: p[13],
    ...flags[i]!,
    inSequence: inSequence.get(demoIds[i]!) ?? new Set<number>(),
  }));
  const texts = Object.fromEntries(
    variantRows
      .filter((r) => r[1] === DEMO.team)
      .map((r) => [parseInt(String(r[0]).slice(2), 16), { subject: String(r[4]), body: String(r[5]) }]),
  );
  const history = historyStatements(
    d,
    {
      team: DEMO.team,
      users: { admin: DEMO.admin, rep1: DEMO.rep1, rep2: DEMO.rep2 },
      mailboxes: [1, 2, 3, 4].map((k) => seedId(0x06, k)),
      sequences: [seq(1), seq(2), seq(3)],
      steps: Object.fromEntries([1, 2, 3, 4, 5, 6, 7, 8, 9].map((k) => [k, st(k)])),
      variants: Object.fromEntries([1, 2, 3, 4, 5, 6, 8, 9].map((k) => [k, v(k)])),
      stages: { replied: stageId(1, 2), interested: stageId(1, 3) },
    },
    historyContacts,
    texts,
    today,
    Date.now(),
  );
  await batchSql(d, history.statements);
  return history.inbound;
}
