import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { env } from "../helpers";
import { startSimulation } from "../fixtures";
import { enrollmentRow, replyTo, sentFirst } from "./mail";

/** Three contacts at acme.test and one at other.test in one sequence; the first acme contact replies. */
async function colleagues(rule?: "nothing" | "pause" | "finish") {
  const emails = ["ana@acme.test", "bo@acme.test", "cy@ACME.test", "dee@other.test"];
  const s = await sentFirst({ n: 4, emails: (i) => emails[i]!, ...(rule ? { settings: { colleague_reply: rule } } : {}) });
  const by = (email: string) => s.sent.find((m) => m.to_email.toLowerCase() === email)!;
  const r = await handleInbound(env, replyTo(by("ana@acme.test")));
  return { s, r, ana: by("ana@acme.test"), bo: by("bo@acme.test"), cy: by("cy@acme.test"), dee: by("dee@other.test") };
}

describe("a reply from a colleague at the same company (per-sequence rule)", () => {
  beforeEach(() => startSimulation());

  it("nothing (the default): the colleagues carry on", async () => {
    const { ana, bo, cy, dee } = await colleagues();
    expect(await enrollmentRow(ana.enrollment_id)).toMatchObject({ status: "finished", reason: "replied" });
    for (const m of [bo, cy, dee]) expect(await enrollmentRow(m.enrollment_id)).toMatchObject({ status: "active" });
  });

  it("pause: the colleagues at the same domain are paused, others carry on", async () => {
    const { bo, cy, dee } = await colleagues("pause");
    for (const m of [bo, cy]) expect(await enrollmentRow(m.enrollment_id)).toMatchObject({ status: "paused", reason: "colleague_replied" });
    expect(await enrollmentRow(dee.enrollment_id)).toMatchObject({ status: "active" });
  });

  it("finish: the colleagues at the same domain are finished; correcting the reply brings them back", async () => {
    const { s, r, ana, bo, cy, dee } = await colleagues("finish");
    for (const m of [bo, cy])
      expect(await enrollmentRow(m.enrollment_id)).toMatchObject({ status: "finished", reason: "colleague_replied" });
    expect(await enrollmentRow(dee.enrollment_id)).toMatchObject({ status: "active" });
    const { as } = await import("../helpers");
    const res = await as(s.session, "POST", `/api/replies/${r.inboundId}/classification`, { classification: "auto_reply" });
    expect(res.status).toBe(200);
    for (const m of [ana, bo, cy, dee]) expect(await enrollmentRow(m.enrollment_id)).toMatchObject({ status: "active" });
  });

  it("free-mail addresses are not a company: a gmail.com reply touches no other gmail.com contact", async () => {
    const s = await sentFirst({ n: 2, emails: (i) => `p${i}@gmail.com`, settings: { colleague_reply: "finish" } });
    await handleInbound(env, replyTo(s.sent[0]!));
    expect(await enrollmentRow(s.sent[1]!.enrollment_id)).toMatchObject({ status: "active" });
  });
});
