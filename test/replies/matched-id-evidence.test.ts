// The threading evidence names the id recordInbound matched, not only the one the classifier expected.
import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { now } from "../../worker/lib/clock";
import { env } from "../helpers";
import { DAY, runUntil, startSimulation } from "../fixtures";
import { sentFirst, type Sent } from "./mail";

const evidenceOf = async (id: string | null) =>
  JSON.parse((await env.DB.prepare("SELECT evidence FROM inbound_messages WHERE id = ?").bind(id).first<{ evidence: string }>())!.evidence);

describe("a reply's threading evidence", () => {
  beforeEach(() => startSimulation());

  it("names the id it was matched to and the header that held it", async () => {
    const s = await sentFirst({ waits: [0, 1, 30] });
    await runUntil(now() + DAY + DAY / 2);
    const [first, second] = (
      await env.DB.prepare("SELECT * FROM messages WHERE enrollment_id = ? ORDER BY sent_at").bind(s.m.enrollment_id).all<Sent>()
    ).results;
    expect(second).toBeDefined();
    // In-Reply-To names the first email, References also the second (newer): the reply is matched to the second.
    const raw = `From: Prospect <${first!.to_email}>\r\nTo: sender@x.test\r\nSubject: Re: ${first!.subject}\r\nMessage-ID: <r-${crypto.randomUUID()}@mail.test>\r\nIn-Reply-To: ${first!.message_id_header}\r\nReferences: ${second!.message_id_header} ${first!.message_id_header}\r\nContent-Type: text/plain\r\n\r\nTuesday works.\r\n`;
    const r = await handleInbound(env, raw);
    expect(r).toMatchObject({ kind: "reply", messageId: second!.id });
    expect(await evidenceOf(r.inboundId)).toMatchObject({ rule: "threaded_reply", header: `References: ${second!.message_id_header}` });
  });
});
