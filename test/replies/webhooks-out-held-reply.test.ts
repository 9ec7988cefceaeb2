// A reply held for a person to pick its run (its sender a contact in two open runs from the mailbox, its
// subject answering neither) sent no reply.received: 0065's trigger leaves a held reply out when it is stored,
// and nothing sent one when the rep applied it. Now applying it (POST /replies/{id}/apply-to-run) sends the
// event once, naming the run picked, with the id the reply would have had if matched when it came in.
import { beforeEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { handleInbound } from "../../worker/inbound";
import { advanceClock } from "../../worker/lib/clock";
import { deliverDue, type Send } from "../../worker/services/webhooks-out";
import { HOUR, makeTeam, sessionFor, startSimulation } from "../fixtures";
import { as, client, env, ok } from "../helpers";
import { freshMail, twoOpenRuns } from "./mail";

/** A receiver that records what it is sent and answers 200. */
function receiver() {
  const got: { type: string; id: string; data: Record<string, any> }[] = [];
  const send: Send = async (_url, init) => {
    got.push(JSON.parse(String(init.body)));
    return new Response("ok");
  };
  return { got, send };
}

/** One contact in two sequences emailing from one mailbox, subscribed to reply.received, and a reply from them that answers neither subject: held. */
async function heldReply() {
  const { teamId, userId } = await makeTeam();
  const session = await sessionFor(teamId, userId);
  const sub = await as(session, "POST", "/api/webhooks/outgoing", { url: "https://hooks.example.com/in", events: ["reply.received"] });
  expect(sub.status).toBe(201);
  const runs = await twoOpenRuns({ teamId, userId });
  const r = await handleInbound(env, freshMail(runs.pricing.email.to_email, runs.mailbox, "Quick thought"), runs.mailbox);
  expect(r).toMatchObject({ kind: "reply", enrollmentId: null });
  return {
    teamId,
    session,
    contactId: runs.contactId,
    intro: runs.intro,
    pricing: runs.pricing,
    inboundId: r.inboundId!,
  };
}

const deliveries = (teamId: string) =>
  env.DB.prepare("SELECT event_id, type, status FROM webhook_deliveries WHERE team_id = ?")
    .bind(teamId)
    .all<{ event_id: string; type: string; status: string }>()
    .then((r) => r.results);

describe("reply.received for a held reply", () => {
  beforeEach(() => startSimulation());

  it("nothing while it is held; once, for the run picked, when a person applies it; not again on a second click", async () => {
    const h = await heldReply();
    const rx = receiver();
    await deliverDue(env, db(env.DB), { send: rx.send });
    expect(rx.got).toEqual([]);
    expect(await deliveries(h.teamId)).toEqual([]);

    advanceClock(HOUR);
    await ok(
      client(h.session).api.replies[":id"]["apply-to-run"].$post({
        param: { id: h.inboundId },
        json: { enrollment_id: h.intro.email.enrollment_id },
      }),
    );
    expect(await deliveries(h.teamId)).toEqual([{ event_id: `evt_${h.inboundId}`, type: "reply.received", status: "pending" }]);
    await deliverDue(env, db(env.DB), { send: rx.send });
    expect(rx.got).toHaveLength(1);
    expect(rx.got[0]).toMatchObject({
      id: `evt_${h.inboundId}`,
      type: "reply.received",
      data: {
        contact: { id: h.contactId },
        sequence: { id: h.intro.id },
        run: { id: h.intro.email.enrollment_id },
        message: { id: h.intro.email.id },
        reply: { id: h.inboundId, subject: "Quick thought" },
      },
    });

    const again = await client(h.session).api.replies[":id"]["apply-to-run"].$post({
      param: { id: h.inboundId },
      json: { enrollment_id: h.pricing.email.enrollment_id },
    });
    expect(again.status).toBe(409);
    advanceClock(HOUR);
    await deliverDue(env, db(env.DB), { send: rx.send });
    expect(rx.got).toHaveLength(1);
    expect(await deliveries(h.teamId)).toEqual([{ event_id: `evt_${h.inboundId}`, type: "reply.received", status: "delivered" }]);
  });

  it("a held reply corrected away and back into a reply stops the contact's runs as a reply, and sends one event naming the run its row names", async () => {
    const h = await heldReply();
    const correct = (classification: "reply" | "out_of_office") =>
      ok(client(h.session).api.replies[":id"].classification.$post({ param: { id: h.inboundId }, json: { classification } }));
    await correct("out_of_office");
    advanceClock(HOUR);
    await correct("reply");
    const row = (await env.DB.prepare("SELECT enrollment_id FROM inbound_messages WHERE id = ?")
      .bind(h.inboundId)
      .first<{ enrollment_id: string }>())!;
    const runs = await env.DB.prepare("SELECT status, reason FROM enrollments WHERE id IN (?, ?)")
      .bind(h.intro.email.enrollment_id, h.pricing.email.enrollment_id)
      .all<{ status: string; reason: string }>();
    expect(runs.results).toEqual([
      { status: "finished", reason: "replied" },
      { status: "finished", reason: "replied" },
    ]);
    const rx = receiver();
    await deliverDue(env, db(env.DB), { send: rx.send });
    await correct("out_of_office");
    await correct("reply");
    advanceClock(HOUR);
    await deliverDue(env, db(env.DB), { send: rx.send });
    expect(rx.got).toHaveLength(1);
    expect(rx.got[0]).toMatchObject({ id: `evt_${h.inboundId}`, data: { run: { id: row.enrollment_id }, reply: { id: h.inboundId } } });
  });

  it("a held row's evidence rewritten while still held, or a row no longer a reply dropping held, sends nothing", async () => {
    const h = await heldReply();
    await env.DB.prepare("UPDATE inbound_messages SET evidence = json_set(evidence, '$.phrase', 'looked at') WHERE id = ?")
      .bind(h.inboundId)
      .run();
    expect(await deliveries(h.teamId)).toEqual([]);
    await env.DB.prepare(
      "UPDATE inbound_messages SET classification = 'out_of_office', evidence = json_remove(evidence, '$.held') WHERE id = ?",
    )
      .bind(h.inboundId)
      .run();
    expect(await deliveries(h.teamId)).toEqual([]);
  });
});
