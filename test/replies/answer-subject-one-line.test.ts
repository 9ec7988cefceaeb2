// An answer's subject with a line break was stored as given ("a\r\nBcc: x@evil.test") while the sent header was
// flattened: the Outbox and the thread showed a subject that was never sent. It is refused, naming the field,
// with nothing sent or recorded.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { setTransportOverride } from "../../worker/transports";
import { startSimulation } from "../fixtures";
import { as, client, env, errorOf, fieldsOf, ok } from "../helpers";
import { replyTo, sentFirst } from "./mail";

describe("an answer's subject", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  it("with a line break is a 422 naming subject; nothing is sent or recorded", async () => {
    const s = await sentFirst();
    mailboxId = s.mailboxId;
    await handleInbound(env, replyTo(s.m));
    const reply = (await ok(client(s.session).api.replies.$get({ query: {} }))).replies[0]!;
    let sent = 0;
    setTransportOverride(s.mailboxId, { send: async () => (sent++, { ok: true, response: "250 accepted" }) });
    const err = await errorOf(
      await as(s.session, "POST", `/api/replies/${reply.id}/reply`, { body: "hi", subject: "a\r\nBcc: x@evil.test" }),
    );
    expect(err.status).toBe(422);
    expect(fieldsOf(err).map((f) => f.field)).toEqual(["subject"]);
    expect(sent).toBe(0);
    const rows = await env.DB.prepare("SELECT count(*) n FROM messages WHERE step_id LIKE 'reply:%'").first<{ n: number }>();
    expect(rows!.n).toBe(0);
  });
});
