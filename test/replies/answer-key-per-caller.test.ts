// An answer's ledger key was the Idempotency-Key alone: another user (or API key) sending the same key for the
// same reply, with other text, was refused 409 "already sent" though they never sent it. The key is scoped to
// its caller, as the Idempotency-Key middleware scopes every stored answer; one caller's retry still sends once.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { sha256Hex } from "../../worker/lib/crypto";
import { setTransportOverride } from "../../worker/transports";
import { makeUser, sessionFor, startSimulation } from "../fixtures";
import { as, call, client, env, ok } from "../helpers";
import { replyTo, sentFirst } from "./mail";

describe("an answer's Idempotency-Key", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  it("is the caller's: the same key from another admin or a master key sends their own answer; a retry by one caller sends once", async () => {
    const s = await sentFirst();
    mailboxId = s.mailboxId;
    await handleInbound(env, replyTo(s.m));
    const reply = (await ok(client(s.session).api.replies.$get({ query: {} }))).replies[0]!;
    const sent: string[] = [];
    setTransportOverride(s.mailboxId, { send: async (m) => (sent.push(m.raw), { ok: true, response: "250 accepted" }) });
    const path = `/api/replies/${reply.id}/reply`;
    const headers = { "idempotency-key": "same-key" };

    const first = await as(s.session, "POST", path, { body: "From the owner" }, headers);
    expect(first.status).toBe(200);
    expect((await as(s.session, "POST", path, { body: "From the owner" }, headers)).status).toBe(200);
    expect(sent).toHaveLength(1);

    const admin2 = await makeUser(s.teamId, "admin");
    const second = await as(await sessionFor(s.teamId, admin2), "POST", path, { body: "From another admin" }, headers);
    expect(second.status).toBe(200);
    const key = `m-${crypto.randomUUID()}`;
    await env.DB.prepare(
      "INSERT INTO api_keys (id, team_id, created_by, name, kind, key_hash, prefix, created_at) VALUES (?, ?, ?, 'k', 'master', ?, ?, 0)",
    )
      .bind(crypto.randomUUID(), s.teamId, s.userId, await sha256Hex(key), key.slice(0, 9))
      .run();
    const third = await call(path, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json", ...headers },
      body: JSON.stringify({ body: "From the integration" }),
    });
    expect(third.status).toBe(200);
    expect(sent).toHaveLength(3);
    const rows = await env.DB.prepare("SELECT body FROM messages WHERE enrollment_id = ? AND step_id LIKE 'reply:%' ORDER BY sent_at, body")
      .bind(s.m.enrollment_id)
      .all<{ body: string }>();
    expect(rows.results.map((r) => r.body).sort()).toEqual(["From another admin", "From the integration", "From the owner"]);
  });
});
