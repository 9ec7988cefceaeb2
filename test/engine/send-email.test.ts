// The send_email-binding transport against a stand-in binding (wrangler.toml has no send_email
// binding yet): what it passes to the binding and how each documented error code is classified.
import { describe, expect, it } from "vitest";
import { classifySendEmailError, sendEmailTransport } from "../../worker/transports/send-email";
import type { OutgoingEmail } from "../../worker/transports/types";

const mail: OutgoingEmail = {
  from: { email: "ana@demo.test", name: "Ana Rep" },
  to: "lead@example.test",
  raw: "From: Ana Rep <ana@demo.test>\r\nTo: lead@example.test\r\nSubject: hi\r\nMessage-ID: <m-2@demo.test>\r\n\r\nHello\r\n",
  messageId: "<m-2@demo.test>",
};

const failWith = (message: string, code?: string): SendEmail => ({
  send: async () => {
    throw Object.assign(new Error(message), code ? { code } : {});
  },
});

describe("send_email transport", () => {
  it("hands the envelope and the raw message to the binding", async () => {
    const sent: EmailMessage[] = [];
    const binding = { send: async (m: EmailMessage) => (sent.push(m), { messageId: "cf-123" }) } as SendEmail;
    expect(await sendEmailTransport(binding).send(mail)).toEqual({ ok: true, response: "cf-123" });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ from: "ana@demo.test", to: "lead@example.test" });
  });

  it.each([
    ["E_RECIPIENT_SUPPRESSED", "recipient_permanent"],
    ["E_RECIPIENT_NOT_ALLOWED", "sender"],
    ["E_SENDER_NOT_VERIFIED", "sender"],
    ["E_SENDER_DOMAIN_NOT_AVAILABLE", "sender"],
    ["E_HEADER_NOT_ALLOWED", "sender"],
    ["E_RATE_LIMIT_EXCEEDED", "rate_limited"],
    ["E_DAILY_LIMIT_EXCEEDED", "rate_limited"],
    ["E_DELIVERY_FAILED", "transient"],
    ["E_INTERNAL_SERVER_ERROR", "transient"],
  ])("%s → %s", async (code, kind) => {
    expect(await sendEmailTransport(failWith("nope", code)).send(mail)).toMatchObject({ ok: false, kind, code });
  });

  it("classifies uncoded errors by message: unverified destination is an account problem, not a bounce", () => {
    expect(classifySendEmailError(new Error("destination address is not a verified address"))).toMatchObject({ kind: "sender" });
    expect(classifySendEmailError(new Error("email to lead@example.test not allowed"))).toMatchObject({ kind: "sender" });
    expect(classifySendEmailError(new Error("network connection lost"))).toMatchObject({ kind: "transient" });
  });

  it("refuses an invalid recipient without calling the binding", async () => {
    const result = await sendEmailTransport(failWith("must not be called")).send({ ...mail, to: "a@b>\r\nx" });
    expect(result).toMatchObject({ ok: false, kind: "recipient_permanent" });
  });
});
