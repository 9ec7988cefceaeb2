// A restart reads a run's twins (other contacts with its address) from D1 before its transaction. A twin
// created and enrolled here while that read was in flight went unseen: the restart wrote a second run of
// one address. The SequenceDO now reads again when a call wrote runs during its reads (enroll and restart,
// both ways), so the restart sees the twin's run and is blocked as duplicate_email.
import { runInDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { sequenceStub } from "../../durable-objects/engine";
import { now } from "../../worker/lib/clock";
import { client, env, ok } from "../helpers";
import { DAY, enroll, makeContacts, runUntil, startSimulation } from "../fixtures";
import { sentFirst } from "../replies/mail";

type Api = ReturnType<typeof client>["api"];
type ActionArgs = Parameters<Api["sequences"][":id"]["enrollments"][":action"]["$post"]>[0];
const restart = (api: Api, seq: string, json: ActionArgs["json"]) =>
  ok(api.sequences[":id"].enrollments[":action"].$post({ param: { id: seq, action: "restart" }, json }));

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
  await runInDurableObject(sequenceStub(env, sequenceId), (o) => {
    const obj = o as unknown as { twinsOf: TwinsOf };
    const original = obj.twinsOf.bind(o);
    let first = true;
    obj.twinsOf = async (teamId, contactIds) => {
      const out = await original(teamId, contactIds);
      if (first) {
        first = false;
        arrived();
        await gate;
      }
      return out;
    };
  });
  return { reached, release };
}

describe("a twin enrolled while a restart reads", () => {
  beforeEach(() => startSimulation());

  it("A finished; B (A's address) is created and enrolled during A's restart's reads: the restart is blocked as duplicate_email", async () => {
    const s = await sentFirst();
    await runUntil(now() + 2 * DAY);
    const a = s.m;
    const held = await holdFirstTwinRead(s.sequenceId);
    const pending = restart(client(s.session).api, s.sequenceId, { enrollment_ids: [a.enrollment_id], restart_anyway: true });
    await held.reached;

    const [b] = await makeContacts(s.teamId, 1);
    await env.DB.prepare("UPDATE contacts SET email = ? WHERE id = ?").bind(a.to_email.toUpperCase(), b).run();
    expect(await enroll(s.teamId, s.sequenceId, [b!], [s.mailboxId])).toMatchObject({ enrolled: [b] });

    held.release();
    const r = await pending;
    expect(r.results[0]).toMatchObject({ changed: false, outcome: "blocked", reason_code: "duplicate_email" });
    const open = (
      await env.DB.prepare("SELECT contact_id FROM enrollments WHERE sequence_id = ? AND status IN ('active','paused','held')")
        .bind(s.sequenceId)
        .all<{ contact_id: string }>()
    ).results;
    expect(open.map((x) => x.contact_id)).toEqual([b]);
  });
});
