// A same-thread reply answers the email before it: after a second new email ("Case study" after "Intro"),
// the next reply goes under "Re: Case study" with In-Reply-To naming it. Before, a run kept its thread from
// its first email, so step 4 went out as "Re: Intro" replying to step 1. Counted at the transport.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { env } from "../helpers";
import { sequenceStub } from "../../durable-objects/engine";
import { setTransportOverride } from "../../worker/transports";
import { DAY, HOUR, SIM_START, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, startSimulation } from "../fixtures";

const header = (raw: string, name: string) => new RegExp(`^${name}: (.*)$`, "m").exec(raw)?.[1]?.trim() ?? null;

describe("a same-thread reply after a second new email", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  it("replies to the latest new email, under its subject", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId } = await makeSequence(
      teamId,
      userId,
      [
        { wait: 0, variants: [{ subject: "Intro", body: "One" }] },
        { wait: 1, threadReply: true, variants: [{ subject: "", body: "Two" }] },
        { wait: 1, variants: [{ subject: "Case study", body: "Three" }] },
        { wait: 1, threadReply: true, variants: [{ subject: "", body: "Four" }] },
      ],
      null,
    );
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const sent: string[] = [];
    setTransportOverride(mailboxId, { local: true, send: async (e) => (sent.push(e.raw), { ok: true, response: "counted" }) });
    await enroll(teamId, sequenceId, await makeContacts(teamId, 1), [mailboxId]);
    await runUntil(SIM_START + 3 * DAY + 6 * HOUR);
    expect(sent).toHaveLength(4);
    const m = sent.map((raw) => ({
      id: header(raw, "Message-ID"),
      subject: header(raw, "Subject"),
      inReplyTo: header(raw, "In-Reply-To"),
    }));
    expect(m.map((x) => x.subject)).toEqual(["Intro", "Re: Intro", "Case study", "Re: Case study"]);
    expect(m[1]!.inReplyTo).toBe(m[0]!.id);
    expect(m[2]!.inReplyTo).toBeNull();
    expect(m[3]!.inReplyTo).toBe(m[2]!.id);
    // As recorded: the outbox and reply matching read in_reply_to.
    const rows = await env.DB.prepare("SELECT subject, in_reply_to FROM messages WHERE sequence_id = ? ORDER BY sent_at")
      .bind(sequenceId)
      .all<{ subject: string; in_reply_to: string | null }>();
    expect(rows.results.at(-1)).toEqual({ subject: "Re: Case study", in_reply_to: m[2]!.id });
    // The engine keeps the same thread (what it hands over with the next reply).
    const inside = await sequenceStub(env, sequenceId).inspect();
    expect(inside.enrollments[0]).toMatchObject({ thread_msg: m[2]!.id, thread_subject: "Case study" });
  });
});
