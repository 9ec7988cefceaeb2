// A reply stops the sequence's runs of the person's colleagues when its colleague rule says finish: those
// runs are recorded in the same effect as the person's own, but a colleague is another person, not a
// duplicate record of the one who replied, so the inbox row names no contact for them (the screen would
// say "Also stopped Bo (same address)").
import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { client, env, ok } from "../helpers";
import { startSimulation } from "../fixtures";
import { enrollmentRow, replyTo, sentFirst } from "./mail";

describe("a colleague stopped by a reply is not named as a duplicate", () => {
  beforeEach(() => startSimulation());

  it("the inbox row counts the colleagues' finished runs with the contact's own, naming no other contact", async () => {
    const emails = ["ana@acme.test", "bo@acme.test", "cy@ACME.test", "dee@other.test"];
    const s = await sentFirst({ n: 4, emails: (i) => emails[i]!, settings: { colleague_reply: "finish" } });
    const by = (email: string) => s.sent.find((m) => m.to_email.toLowerCase() === email)!;
    const r = await handleInbound(env, replyTo(by("ana@acme.test")));
    expect(r.kind).toBe("reply");
    for (const m of [by("bo@acme.test"), by("cy@acme.test")])
      expect(await enrollmentRow(m.enrollment_id)).toMatchObject({ status: "finished", reason: "colleague_replied" });

    const listed = await ok(client(s.session).api.replies.$get({ query: {} }));
    const row = listed.replies.find((x) => x.id === r.inboundId)!;
    expect(row.contact?.email?.toLowerCase()).toBe("ana@acme.test");
    // Ana's own run and her two colleagues', all in the sequence answered: one line, no contact named.
    expect(row.applied_to).toEqual([{ sequence_id: s.sequenceId, sequence_name: expect.any(String), action: "finish", enrollments: 3 }]);
    // The stored effect still records the colleagues' runs (a correction gives them back).
    const effect = JSON.parse(
      (await env.DB.prepare("SELECT effect FROM inbound_messages WHERE id = ?").bind(r.inboundId).first<{ effect: string }>())!.effect,
    );
    expect(effect.enrollments.filter((e: { reason: string }) => e.reason === "colleague_replied")).toHaveLength(2);
  });
});
