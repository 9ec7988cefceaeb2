// The inbox says what the correction endpoint allows: taking back an unsubscribe request or a hard bounce
// lifts the address's suppression (suppressions.manage, team admins), so a sequence editor who isn't one
// may confirm it (can_correct) but not correct it to something else (can_take_back), and the API refuses it.
import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { client, env, ok, type Session } from "../helpers";
import { makeUser, sessionFor, startSimulation } from "../fixtures";
import { dsn, replyTo, sentFirst } from "./mail";

const rowOf = async (session: Session, id: string) => (await ok(client(session).api.replies[":id"].$get({ param: { id } }))).reply;

describe("can_take_back: what 'Correct it' may offer", () => {
  beforeEach(() => startSimulation());

  it("an unsubscribe request and a hard bounce: the admin may take them back, the sequence's member editor only confirm", async () => {
    for (const kind of ["unsubscribe", "bounce_hard"] as const) {
      const s = await sentFirst();
      const member = await sessionFor(s.teamId, await makeUser(s.teamId, "member", { sequenceId: s.sequenceId, access: "edit" }));
      const r = await handleInbound(
        env,
        kind === "unsubscribe" ? replyTo(s.m, { body: "Please remove me from your list." }) : dsn(s.m, "5.1.1"),
      );
      expect(r.kind).toBe(kind);
      expect(await rowOf(member, r.inboundId!)).toMatchObject({ can_correct: true, can_take_back: false });
      expect(await rowOf(s.session, r.inboundId!)).toMatchObject({ can_correct: true, can_take_back: true });
      // What can_take_back says is what the endpoint does: the member's correction away is refused.
      const res = await client(member).api.replies[":id"].classification.$post({
        param: { id: r.inboundId! },
        json: { classification: "auto_reply", confirm: true },
      });
      expect(res.status).toBe(403);
      const stored = await env.DB.prepare("SELECT classification FROM inbound_messages WHERE id = ?")
        .bind(r.inboundId)
        .first<{ classification: string }>();
      expect(stored?.classification).toBe(kind);
    }
  });

  it("a reply: the member editor may correct it to anything", async () => {
    const s = await sentFirst();
    const member = await sessionFor(s.teamId, await makeUser(s.teamId, "member", { sequenceId: s.sequenceId, access: "edit" }));
    const r = await handleInbound(env, replyTo(s.m));
    expect(r.kind).toBe("reply");
    expect(await rowOf(member, r.inboundId!)).toMatchObject({ can_correct: true, can_take_back: true });
  });
});
