// "Please remove me" from an address other than the one emailed. An opt-out errs on the safe side: from
// an address the team does not know (most often the contact's own phone or other inbox) both the sender's
// address and the one emailed are suppressed and the runs end as unsubscribed; only when the sender is
// another live contact of the team (a colleague the email was forwarded to) is their address alone
// suppressed, the contact, who never asked, staying emailable and the run ending as answered (replied).
import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { client, env, ok } from "../helpers";
import { startSimulation } from "../fixtures";
import { enrollmentRow, replyTo, sentFirst } from "./mail";

const REMOVE = "Please remove me from your list.";
const suppressed = async (teamId: string, email: string) =>
  (
    await env.DB.prepare("SELECT reason FROM suppressions WHERE team_id = ? AND email = lower(?)")
      .bind(teamId, email)
      .all<{ reason: string }>()
  ).results.map((r) => r.reason);
const contactOf = (id: string) =>
  env.DB.prepare("SELECT unsubscribed_at, stage_id FROM contacts WHERE id = ?")
    .bind(id)
    .first<{ unsubscribed_at: number | null; stage_id: string }>();

describe("an unsubscribe request from someone other than the address emailed", () => {
  beforeEach(() => startSimulation());

  it("from a colleague who is a live contact of the team: their own address only, the run ends as replied; a correction lifts it", async () => {
    const s = await sentFirst({ n: 2 });
    const boss = s.sent[1]!.to_email;
    const r = await handleInbound(env, replyTo(s.m, { body: REMOVE, from: boss }));
    expect(r.kind).toBe("unsubscribe");
    expect(await suppressed(s.teamId, s.m.to_email)).toEqual([]);
    expect(await suppressed(s.teamId, boss)).toEqual(["unsubscribed"]);
    const contact = await contactOf(s.m.contact_id);
    expect(contact!.unsubscribed_at).toBeNull();
    expect(contact!.stage_id).toBe(`${s.teamId}-replied`);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
    const m = await env.DB.prepare("SELECT replied_at, reply_kind, unsubscribed_at FROM messages WHERE id = ?").bind(s.m.id).first();
    expect(m).toMatchObject({ reply_kind: "reply", replied_at: expect.any(Number), unsubscribed_at: null });

    // Taken back as an auto-reply: the sender's suppression (the one it wrote) goes, and the run goes on.
    await ok(
      client(s.session).api.replies[":id"].classification.$post({
        param: { id: r.inboundId! },
        json: { classification: "auto_reply", confirm: true },
      }),
    );
    expect(await suppressed(s.teamId, boss)).toEqual([]);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active" });
  });

  it("from an address the team does not know (the contact's other inbox): both addresses suppressed, the run unsubscribed; a correction lifts both", async () => {
    const s = await sentFirst();
    const phone = `jane-${crypto.randomUUID().slice(0, 8)}@phone.test`;
    const r = await handleInbound(env, replyTo(s.m, { body: "unsubscribe", from: phone }));
    expect(r.kind).toBe("unsubscribe");
    expect(await suppressed(s.teamId, s.m.to_email)).toEqual(["unsubscribed"]);
    expect(await suppressed(s.teamId, phone)).toEqual(["unsubscribed"]);
    expect((await contactOf(s.m.contact_id))!.unsubscribed_at).not.toBeNull();
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "unsubscribed" });
    const m = await env.DB.prepare("SELECT unsubscribed_at FROM messages WHERE id = ?").bind(s.m.id).first();
    expect(m).toMatchObject({ unsubscribed_at: expect.any(Number) });

    await ok(
      client(s.session).api.replies[":id"].classification.$post({
        param: { id: r.inboundId! },
        json: { classification: "auto_reply", confirm: true },
      }),
    );
    expect(await suppressed(s.teamId, s.m.to_email)).toEqual([]);
    expect(await suppressed(s.teamId, phone)).toEqual([]);
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "active" });
  });

  it("the contact's own request still suppresses the contact's address (in another case of letters too)", async () => {
    const s = await sentFirst();
    const r = await handleInbound(env, replyTo(s.m, { body: REMOVE, from: s.m.to_email.toUpperCase() }));
    expect(r.kind).toBe("unsubscribe");
    expect(await suppressed(s.teamId, s.m.to_email)).toEqual(["unsubscribed"]);
    expect((await contactOf(s.m.contact_id))!.unsubscribed_at).not.toBeNull();
    expect(await enrollmentRow(s.m.enrollment_id)).toMatchObject({ status: "finished", reason: "unsubscribed" });
  });
});
