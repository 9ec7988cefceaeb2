// The private-host check ran only when a mailbox's SMTP settings were saved. A mailbox saved before a range
// was refused (100.64/10 and 198.18/15 came later) still connected there on its test email and on every send.
// The socket refuses such a host itself, in the same words, before any connection is made.
import { describe, expect, inject, it } from "vitest";
import { SmtpConnectionError, SmtpSocket } from "../../worker/transports/smtp-socket";
import { privateHostProblem } from "../../worker/lib/private-host";

const smtp = inject("smtp");

describe("the SMTP socket", () => {
  it("refuses a local or private host outside the tests, in the words a save gives", async () => {
    for (const host of [smtp.host, "localhost", "100.64.0.1", "198.18.0.1", "169.254.169.254"]) {
      const words = privateHostProblem(host);
      expect(words).toMatch(/local and private network addresses can't be used/);
      const opened = SmtpSocket.open(host, smtp.ports.plain, "none", 2_000, "production");
      await expect(opened, host).rejects.toThrow(SmtpConnectionError);
      await expect(opened, host).rejects.toThrow(words!);
    }
  });

  it("lets the tests (APP_ENV=test) reach their local servers", async () => {
    const conn = await SmtpSocket.open(smtp.host, smtp.ports.plain, "none", 5_000, "test");
    expect((await conn.read()).code).toBe(220);
    await conn.close();
    // And by default, from the Worker's own environment (the test runner's APP_ENV).
    const byDefault = await SmtpSocket.open(smtp.host, smtp.ports.plain, "none", 5_000);
    expect((await byDefault.read()).code).toBe(220);
    await byDefault.close();
  });
});
