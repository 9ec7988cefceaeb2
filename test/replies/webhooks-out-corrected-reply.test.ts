// An out-of-office or auto-reply a person corrected into a reply (Replies → What it is → Confirm, or
// POST /replies/{id}/classification) sent no reply.received, though the run then reacts to it as to a reply:
// 0065's trigger fires only when the row is stored, 0067's only when a held reply is applied. Now the
// correction sends the event, with the payload an inserted reply's has and the same id ('evt_' || reply id),
// so a reply corrected away and back is heard of once. Driven through the inbound handler and the route.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { handleInbound } from "../../worker/inbound";
import { advanceClock, now } from "../../worker/lib/clock";
import { deliverDue, type Send } from "../../worker/services/webhooks-out";
import { HOUR, startSimulation } from "../fixtures";
import { as, client, env, ok, type Session } from "../helpers";
import { enrollmentRow, replyTo, sentFirst } from "./mail";

type Classification = "reply" | "out_of_office" | "auto_reply";
const correct = (session: Session, id: string, classification: Classification) =>
  ok(client(session).api.replies[":id"].classification.$post({ param: { id }, json: { classification } }));

const ooo = { extra: "Auto-Submitted: auto-replied\r\n", subject: "Out of office", body: "I am out of the office until Monday." };

async function subscribe(session: Session, events: string[]) {
  const res = await as(session, "POST", "/api/webhooks/outgoing", { url: "https://hooks.example.com/seqflare", events });
  expect(res.status).toBe(201);
  return ((await res.json()) as { subscription: { id: string } }).subscription.id;
}

interface Row {
  subscription_id: string;
  event_id: string;
  type: string;
  status: string;
  payload: string;
  next_attempt_at: number;
  created_at: number;
}
const rowsOfTeam = (teamId: string) =>
  env.DB.prepare("SELECT * FROM webhook_deliveries WHERE team_id = ? ORDER BY created_at, id")
    .bind(teamId)
    .all<Row>()
    .then((r) => r.results);
const rowsOfSubscription = (subscriptionId: string) =>
  env.DB.prepare("SELECT * FROM webhook_deliveries WHERE subscription_id = ?")
    .bind(subscriptionId)
    .all<Row>()
    .then((r) => r.results);

/** The payload's keys, nested, with each value's JSON type in place of the value: what a receiver parses. */
function shape(v: unknown): unknown {
  if (v === null) return "null";
  if (typeof v !== "object") return typeof v;
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, x]) => [k, shape(x)]),
  );
}

/** What reply.received says of inbound row `id`, read from the rows as they are (the payload an inserted reply's trigger builds). */
async function expectedPayload(id: string) {
  const r = (await env.DB.prepare(
    `SELECT i.id, i.team_id, i.enrollment_id, i.message_id, i.from_email, i.subject, i.snippet, i.received_at,
            c.id contact_id, c.email, c.first_name, c.last_name, q.id sequence_id, q.name sequence_name
       FROM inbound_messages i JOIN contacts c ON c.id = i.contact_id JOIN sequences q ON q.id = i.sequence_id WHERE i.id = ?`,
  )
    .bind(id)
    .first<Record<string, any>>())!;
  return {
    id: `evt_${r.id}`,
    type: "reply.received",
    created_at: new Date(r.received_at).toISOString(),
    team_id: r.team_id,
    data: {
      contact: {
        id: r.contact_id,
        email: r.email,
        first_name: r.first_name,
        last_name: r.last_name,
        name: `${r.first_name} ${r.last_name}`.trim(),
      },
      sequence: { id: r.sequence_id, name: r.sequence_name },
      run: { id: r.enrollment_id },
      message: { id: r.message_id },
      reply: { id: r.id, from: r.from_email, subject: r.subject, snippet: r.snippet },
    },
  };
}

function receiver() {
  const got: { id: string; type: string }[] = [];
  const send: Send = async (_url, init) => {
    got.push(JSON.parse(String(init.body)));
    return new Response("ok");
  };
  return { got, send };
}

describe("reply.received for an email corrected into a reply", () => {
  beforeEach(() => startSimulation());

  it("an out-of-office corrected into a reply sends it once, as an inserted reply's; due when corrected", async () => {
    // Two contacts: the first answers with a reply (its event inserted), the second with an out-of-office.
    const s = await sentFirst({ n: 2 });
    const sub = await subscribe(s.session, ["reply.received"]);
    const [a, b] = s.sent;
    const inserted = await handleInbound(env, replyTo(a!));
    expect(inserted.kind).toBe("reply");
    const away = await handleInbound(env, replyTo(b!, ooo));
    expect(away.kind).toBe("out_of_office");
    expect((await rowsOfSubscription(sub)).map((r) => r.event_id)).toEqual([`evt_${inserted.inboundId}`]);

    advanceClock(HOUR);
    const correctedAt = now();
    await correct(s.session, away.inboundId!, "reply");
    // The run reacts as to a reply: finished.
    expect(await enrollmentRow(b!.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
    const rows = (await rowsOfSubscription(sub)).filter((r) => r.event_id === `evt_${away.inboundId}`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ type: "reply.received", status: "pending", next_attempt_at: correctedAt, created_at: correctedAt });
    const payload = JSON.parse(rows[0]!.payload);
    expect(payload).toEqual(await expectedPayload(away.inboundId!));
    // The same shape, key for key, as the reply whose event was written when it was stored.
    const insertedRow = (await rowsOfSubscription(sub)).find((r) => r.event_id === `evt_${inserted.inboundId}`)!;
    expect(shape(payload)).toEqual(shape(JSON.parse(insertedRow.payload)));
    expect(JSON.parse(insertedRow.payload)).toEqual(await expectedPayload(inserted.inboundId!));

    const rx = receiver();
    await deliverDue(env, db(env.DB), { send: rx.send });
    expect(rx.got.map((g) => g.id).sort()).toEqual([`evt_${away.inboundId}`, `evt_${inserted.inboundId}`].sort());
  });

  it("corrected back and forth, a reply is heard of once: one row, one delivery; a correction away sends nothing", async () => {
    const s = await sentFirst({ n: 2 });
    const sub = await subscribe(s.session, ["reply.received"]);
    const [a, b] = s.sent;
    // Stored as a reply (its event inserted then), corrected away, then back.
    const r1 = await handleInbound(env, replyTo(a!));
    expect(r1.kind).toBe("reply");
    // Stored as an out-of-office, corrected into a reply, away, and into a reply again.
    const r2 = await handleInbound(env, replyTo(b!, ooo));
    expect(r2.kind).toBe("out_of_office");

    advanceClock(HOUR);
    await correct(s.session, r2.inboundId!, "reply");
    const rx = receiver();
    await deliverDue(env, db(env.DB), { send: rx.send });
    expect(rx.got.map((g) => g.id).sort()).toEqual([`evt_${r1.inboundId}`, `evt_${r2.inboundId}`].sort());

    for (const to of ["out_of_office", "reply", "auto_reply", "reply"] as const) {
      advanceClock(HOUR);
      await correct(s.session, r1.inboundId!, to);
      await correct(s.session, r2.inboundId!, to === "out_of_office" ? "auto_reply" : to);
      await deliverDue(env, db(env.DB), { send: rx.send });
    }
    const rows = await rowsOfSubscription(sub);
    expect(rows.map((r) => [r.event_id, r.type, r.status]).sort()).toEqual(
      [
        [`evt_${r1.inboundId}`, "reply.received", "delivered"],
        [`evt_${r2.inboundId}`, "reply.received", "delivered"],
      ].sort(),
    );
    expect(rx.got).toHaveLength(2);
    expect(await enrollmentRow(b!.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
  });

  it("a team with no subscription gets no rows; another team's subscription, or one to other events, gets nothing", async () => {
    const other = await sentFirst();
    const otherSub = await subscribe(other.session, ["reply.received", "email.bounced"]);
    const s = await sentFirst();
    const mine = await subscribe(s.session, ["email.bounced", "meeting.booked"]);
    const away = await handleInbound(env, replyTo(s.m, ooo));
    expect(away.kind).toBe("out_of_office");
    advanceClock(HOUR);
    await correct(s.session, away.inboundId!, "reply");
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
    expect(await rowsOfTeam(s.teamId)).toEqual([]);
    expect(await rowsOfSubscription(mine)).toEqual([]);
    expect(await rowsOfSubscription(otherSub)).toEqual([]);
    // The other team's own correction is its subscription's, and only that.
    const theirs = await handleInbound(env, replyTo(other.m, ooo));
    await correct(other.session, theirs.inboundId!, "reply");
    expect((await rowsOfSubscription(otherSub)).map((r) => [r.event_id, r.type])).toEqual([[`evt_${theirs.inboundId}`, "reply.received"]]);
    expect(await rowsOfTeam(s.teamId)).toEqual([]);

    // Without any subscription at all: still nothing.
    const bare = await sentFirst();
    const ooo2 = await handleInbound(env, replyTo(bare.m, ooo));
    await correct(bare.session, ooo2.inboundId!, "reply");
    expect(await enrollmentRow(bare.m.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
    expect(await rowsOfTeam(bare.teamId)).toEqual([]);
    expect(await rowsOfSubscription(otherSub)).toHaveLength(1);
  });
});
