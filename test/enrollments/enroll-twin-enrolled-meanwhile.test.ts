// An enroll reads its contacts' twins (other contacts with the same address) from D1 before its
// transaction. A twin created and enrolled here while that read was in flight would go unseen, and the
// enroll would write a second run of one address. SequenceDO.enroll reads again when another call wrote
// runs during its reads (settled), so it sees the twin's run and lists its contact as duplicate_email.
// (restart-twin-enrolled-meanwhile.test.ts holds the same window for a restart.)
import { runInDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { sequenceStub } from "../../durable-objects/engine";
import { now } from "../../worker/lib/clock";
import { env } from "../helpers";
import { HOUR, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, startSimulation } from "../fixtures";

type TwinsOf = (teamId: string, contactIds: string[]) => Promise<Map<string, string[]>>;

/**
 * The SequenceDO's first twin read is held, its answer already in hand, until `release()`: as a read
 * still on its way back while another call enrolls.
 */
async function holdFirstTwinRead(sequenceId: string) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let arrived!: () => void;
  const reached = new Promise<void>((r) => (arrived = r));
  let reads = 0;
  await runInDurableObject(sequenceStub(env, sequenceId), (o) => {
    const obj = o as unknown as { twinsOf: TwinsOf };
    const original = obj.twinsOf.bind(o);
    obj.twinsOf = async (teamId, contactIds) => {
      const out = await original(teamId, contactIds);
      if (++reads === 1) {
        arrived();
        await gate;
      }
      return out;
    };
  });
  return { reached, release, reads: () => reads };
}

describe("a twin enrolled while an enroll reads", () => {
  beforeEach(() => startSimulation());

  it("A's enroll is reading when B (A's address) is created and enrolled: A is a duplicate_email, the address has one run", async () => {
    const { teamId, userId } = await makeTeam();
    const { sequenceId } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
    const mailboxId = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    const [a] = await makeContacts(teamId, 1);
    const { email } = (await env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(a).first<{ email: string }>())!;

    const held = await holdFirstTwinRead(sequenceId);
    // A's twin read answers "no twins": B doesn't exist yet.
    const pending = enroll(teamId, sequenceId, [a!], [mailboxId]);
    await held.reached;

    const [b] = await makeContacts(teamId, 1);
    await env.DB.prepare("UPDATE contacts SET email = ? WHERE id = ?").bind(email.toUpperCase(), b).run();
    expect(await enroll(teamId, sequenceId, [b!], [mailboxId])).toMatchObject({ enrolled: [b], duplicateEmail: [] });

    held.release();
    expect(await pending).toMatchObject({ enrolled: [], duplicateEmail: [a] });
    // A's read was made again after B's run was written (three reads: A's, B's, A's again).
    expect(held.reads()).toBe(3);
    const runs = (
      await env.DB.prepare("SELECT contact_id FROM enrollments WHERE sequence_id = ?").bind(sequenceId).all<{ contact_id: string }>()
    ).results;
    expect(runs.map((x) => x.contact_id)).toEqual([b]);
    await runUntil(now() + HOUR);
    const sent = await env.DB.prepare("SELECT count(*) n FROM messages WHERE team_id = ? AND lower(to_email) = lower(?)")
      .bind(teamId, email)
      .first<{ n: number }>();
    expect(sent!.n).toBe(1);
  });
});
