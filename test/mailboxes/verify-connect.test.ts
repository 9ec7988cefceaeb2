// Verify on connect: a mailbox is saved as connected only after it proved it can send. SMTP connects,
// negotiates TLS and authenticates against the local SMTP test server (test/fixtures/smtp-servers.mjs);
// failures answer 422 in words and save nothing.
import { describe, expect, inject, it } from "vitest";
import { as, env, errorOf, login } from "../helpers";

const smtp = inject("smtp");
const json = async (r: Response) => (await r.json()) as any;
const email = (p: string) => `${p}-${crypto.randomUUID().slice(0, 8)}@demo.test`;
const rows = async (e: string) =>
  (await env.DB.prepare("SELECT count(*) n FROM mailboxes WHERE email = ?").bind(e).first<{ n: number }>())!.n;

describe("verify on connect", () => {
  it("refuses an SMTP mailbox whose server does not exist, saying so, and saves nothing", async () => {
    const s = await login("rep1@demo.test");
    const e = email("nx");
    const err = await errorOf(
      await as(s, "POST", "/api/mailboxes", {
        email: e,
        sender_name: "N",
        transport: "smtp",
        smtp: { host: "smtp.nonexistent.invalid", port: 587, security: "starttls" },
      }),
    );
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(err.message).toMatch(/^Couldn't connect to the SMTP server: Could not connect to smtp\.nonexistent\.invalid:587/);
    expect(err.details.fields[0].field).toBe("smtp");
    expect(await rows(e)).toBe(0);
  });

  it("refuses a refused port and a wrong password, in words", async () => {
    const s = await login("rep1@demo.test");
    const refused = await errorOf(
      await as(s, "POST", "/api/mailboxes", {
        email: email("rf"),
        sender_name: "R",
        transport: "smtp",
        smtp: { host: smtp.host, port: smtp.refusedPort, security: "none" },
      }),
    );
    expect(refused.status).toBe(422);
    expect(refused.message).toContain(`Could not connect to ${smtp.host}:${smtp.refusedPort}`);
    const e = email("pw");
    const badPw = await errorOf(
      await as(s, "POST", "/api/mailboxes", {
        email: e,
        sender_name: "P",
        transport: "smtp",
        smtp: { host: smtp.host, port: smtp.ports.plain, security: "none", username: "demo", password: "wrong" },
      }),
    );
    expect(badPw.status).toBe(422);
    expect(badPw.message).toMatch(/535/);
    expect(badPw.message).toMatch(/authentication|credentials|sign/i);
    expect(await rows(e)).toBe(0);
  });

  it("refuses STARTTLS on a server that doesn't offer it", async () => {
    const s = await login("rep1@demo.test");
    const err = await errorOf(
      await as(s, "POST", "/api/mailboxes", {
        email: email("tls"),
        sender_name: "T",
        transport: "smtp",
        smtp: { host: smtp.host, port: smtp.ports.plain, security: "starttls", username: "demo", password: "secret" },
      }),
    );
    expect(err.status).toBe(422);
    expect(err.message).toContain("does not offer STARTTLS");
  });

  it("connects an SMTP mailbox that signs in, with STARTTLS when workerd trusts the test certificate", async () => {
    const s = await login("rep1@demo.test");
    const cfg = smtp.tlsTrusted
      ? { host: "localhost", port: smtp.ports.starttls, security: "starttls", username: "demo", password: "secret" }
      : { host: smtp.host, port: smtp.ports.loginOnly, security: "none", username: "demo", password: "secret" };
    const res = await as(s, "POST", "/api/mailboxes", { email: email("ok"), sender_name: "OK", transport: "smtp", smtp: cfg });
    expect(res.status).toBe(201);
    expect((await json(res)).mailbox).toMatchObject({ status: "connected", smtp: { has_password: true } });
  });

  it("verifies changed SMTP settings before saving them; the old settings stay when the new ones fail", async () => {
    const s = await login("rep1@demo.test");
    const mb = (
      await json(
        await as(s, "POST", "/api/mailboxes", {
          email: email("ch"),
          sender_name: "C",
          transport: "smtp",
          smtp: { host: smtp.host, port: smtp.ports.plain, security: "none", username: "demo", password: "secret" },
        }),
      )
    ).mailbox;
    const err = await errorOf(await as(s, "PATCH", `/api/mailboxes/${mb.id}`, { smtp: { port: smtp.refusedPort } }));
    expect(err.status).toBe(422);
    const row = await env.DB.prepare("SELECT transport_config FROM mailboxes WHERE id = ?").bind(mb.id).first<any>();
    expect(JSON.parse(row.transport_config).port).toBe(smtp.ports.plain);
    // The stored password is used when only other settings change.
    const ok = await as(s, "PATCH", `/api/mailboxes/${mb.id}`, { smtp: { port: smtp.ports.loginOnly } });
    expect(ok.status).toBe(200);
    // Other settings don't reconnect to the server.
    expect((await as(s, "PATCH", `/api/mailboxes/${mb.id}`, { daily_limit: 40 })).status).toBe(200);
  });

  it("reconnect verifies first: a mailbox whose server stopped answering stays disconnected, with why", async () => {
    const s = await login("rep1@demo.test");
    const mb = (
      await json(
        await as(s, "POST", "/api/mailboxes", {
          email: email("rc"),
          sender_name: "C",
          transport: "smtp",
          smtp: { host: smtp.host, port: smtp.ports.plain, security: "none", username: "demo", password: "secret" },
        }),
      )
    ).mailbox;
    await as(s, "POST", `/api/mailboxes/${mb.id}/disconnect`);
    await env.DB.prepare("UPDATE mailboxes SET transport_config = json_set(transport_config, '$.port', ?) WHERE id = ?")
      .bind(smtp.refusedPort, mb.id)
      .run();
    const err = await errorOf(await as(s, "POST", `/api/mailboxes/${mb.id}/reconnect`));
    expect(err.status).toBe(422);
    expect(err.message).toContain("Could not connect");
    expect((await env.DB.prepare("SELECT status FROM mailboxes WHERE id = ?").bind(mb.id).first<any>()).status).toBe("disconnected");
  });

  it("won't create Gmail or Microsoft 365 mailboxes without signing in", async () => {
    const s = await login("rep1@demo.test");
    for (const transport of ["gmail", "graph"]) {
      const err = await errorOf(await as(s, "POST", "/api/mailboxes", { email: email("g"), sender_name: "G", transport }));
      expect(err.status).toBe(422);
      expect(err.message).toMatch(/connected by signing in/);
    }
  });
});
