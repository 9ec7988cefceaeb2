// An answer written to a reply (sequence_id '', step reply:<key>) is in the Outbox of whoever sees the run it
// answers in (its sequence), as on the contact's timeline; a test email (also no sequence) stays its mailbox owner's.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { setTransportOverride } from "../../worker/transports";
import { makeTeam, makeUser, sessionFor, startSimulation } from "../fixtures";
import { as, client, env, ok } from "../helpers";
import { replyTo, sentFirst } from "./mail";

describe("an answer to a reply in the Outbox", () => {
  let overridden: string[] = [];
  beforeEach(() => startSimulation());
  afterEach(() => {
    for (const id of overridden) setTransportOverride(id, null);
    overridden = [];
  });

  it("is listed and opened by a member the run's sequence is shared with, 404 to a member without it and to another team", async () => {
    const s = await sentFirst();
    overridden.push(s.mailboxId);
    const sent: string[] = [];
    setTransportOverride(s.mailboxId, { send: async (m) => (sent.push(m.raw), { ok: true, response: "250 accepted" }) });
    await handleInbound(env, replyTo(s.m));
    const reply = (await ok(client(s.session).api.replies.$get({ query: {} }))).replies[0]!;
    const res = await as(s.session, "POST", `/api/replies/${reply.id}/reply`, { body: "Tuesday works" }, { "idempotency-key": "k-vis" });
    expect(res.status).toBe(200);
    const answerId = ((await res.json()) as { sent: { id: string } }).sent.id;
    expect(sent).toHaveLength(1);
    // A test email of the same mailbox: still its owner's (and admins') only.
    const testRes = await as(s.session, "POST", `/api/mailboxes/${s.mailboxId}/test`, { to: `${s.mailboxId}@sender.test` });
    expect(testRes.status).toBe(200);
    const testId = (
      await env.DB.prepare("SELECT id FROM messages WHERE mailbox_id = ? AND sequence_id = '' AND step_id NOT LIKE 'reply:%'")
        .bind(s.mailboxId)
        .first<{ id: string }>()
    )?.id;

    const viewer = await sessionFor(s.teamId, await makeUser(s.teamId, "member", { sequenceId: s.sequenceId, access: "view" }));
    const outsider = await sessionFor(s.teamId, await makeUser(s.teamId, "member"));
    const rival = await makeTeam("Rival");
    const rivalAdmin = await sessionFor(rival.teamId, rival.userId);

    const listed = async (who: typeof viewer) => (await ok(client(who).api.messages.$get({ query: {} }))).messages.map((m) => m.id);
    const raw = (who: typeof viewer, id: string) => as(who, "GET", `/api/messages/${id}/raw`);

    // The member who sees the sequence sees the answer beside the run's own email, and can open it.
    const seen = await listed(viewer);
    expect(seen).toContain(answerId);
    expect(seen).toContain(s.m.id);
    const opened = await raw(viewer, answerId);
    expect(opened.status).toBe(200);
    expect(await opened.text()).toBe(sent[0]);
    // Filtered by the contact it went to, too.
    const byContact = await ok(client(viewer).api.messages.$get({ query: { contact_id: s.m.contact_id } }));
    expect(byContact.messages.map((m) => m.id)).toContain(answerId);

    // A member without the sequence: neither listed nor opened.
    expect(await listed(outsider)).toEqual([]);
    expect((await raw(outsider, answerId)).status).toBe(404);
    // Another team: 404.
    expect((await raw(rivalAdmin, answerId)).status).toBe(404);
    expect(await listed(rivalAdmin)).not.toContain(answerId);

    // The test email keeps its rule: the viewer doesn't see it, its owner does.
    expect(testId).toBeTruthy();
    expect(seen).not.toContain(testId);
    expect((await raw(viewer, testId!)).status).toBe(404);
    expect(await listed(s.session)).toContain(testId);
  });
});
