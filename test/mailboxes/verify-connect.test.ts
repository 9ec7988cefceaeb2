// Verify on connect: a mailbox is saved as connected only after it proved it can send. SMTP connects,
// negotiates TLS and authenticates against the local SMTP test server (test/fixtures/smtp-servers.mjs);
// failures answer 422 in words and save nothing.
import { describe, expect, inject, it } from "vitest";
import { client, env, errorOf, fieldsOf, login, ok } from "../helpers";

const smtp = inject("smtp");
type CreateMailbox = Parameters<ReturnType<typeof client>["api"]["mailboxes"]["$post"]>[0]["json"];
const email = (p: string) => `${p}-${crypto.randomUUID().slice(0, 8)}@demo.test`;
const rows = async (e: string) =>
  (await env.DB.prepare("SELECT count(*) n FROM mailboxes WHERE email = ?").bind(e).first<{ n: number }>())!.n;

describe("verify on connect", () => {
  it("refuses an SMTP mailbox whose server does not exist, saying so, and saves nothing", async () => {
    const api = client(await login("rep1@demo.test")).api;
    const e = email("nx");
    const err = await errorOf(
      await api.mailboxes.$post({
        json: {
          email: e,
          sender_name: "N",
          transport: "smtp",
          smtp: { host: "smtp.nonexistent.invalid", port: 587, security: "starttls" },
        },
      }),
    );
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(err.message).toMatch(/^Couldn't connect to the SMTP server: Could not connect to smtp\.nonexistent\.invalid:587/);
    expect(fieldsOf(err)[0]!.field).toBe("smtp");
    expect(await rows(e)).toBe(0);
  });

  it("refuses a refused port and a wrong password, in words", async () => {
    const api = client(await login("rep1@demo.test")).api;
    const refused = await errorOf(
      await api.mailboxes.$post({
        json: {
          email: email("rf"),
          sender_name: "R",
          transport: "smtp",
          smtp: { host: smtp.host, port: smtp.refusedPort, security: "none" },
        },
      }),
    );
    expect(refused.status).toBe(422);
    expect(refused.message).toContain(`Could not connect to ${smtp.host}:${smtp.refusedPort}`);
    const e = email("pw");
    const badPw = await errorOf(
      await api.mailboxes.$post({
        json: {
          email: e,
          sender_name: "P",
          transport: "smtp",
          smtp: { host: smtp.host, port: smtp.ports.plain, security: "none", username: "demo", password: "wrong" },
        },
      }),
    );
    expect(badPw.status).toBe(422);
    expect(badPw.message).toMatch(/535/);
    expect(badPw.message).toMatch(/authentication|credentials|sign/i);
    expect(await rows(e)).toBe(0);
  });

  it("refuses STARTTLS on a server that doesn't offer it", async () => {
    const api = client(await login("rep1@demo.test")).api;
    const err = await errorOf(
      await api.mailboxes.$post({
        json: {
          email: email("tls"),
          sender_name: "T",
          transport: "smtp",
          smtp: { host: smtp.host, port: smtp.ports.plain, security: "starttls", username: "demo", password: "secret" },
        },
      }),
    );
    expect(err.status).toBe(422);
    expect(err.message).toContain("does not offer STARTTLS");
  });

  it("connects an SMTP mailbox that signs in, with STARTTLS when workerd trusts the test certificate", async () => {
    const api = client(await login("rep1@demo.test")).api;
    const cfg: NonNullable<CreateMailbox["smtp"]> = smtp.tlsTrusted
      ? { host: "localhost", port: smtp.ports.starttls, security: "starttls", username: "demo", password: "secret" }
      : { host: smtp.host, port: smtp.ports.loginOnly, security: "none", username: "demo", password: "secret" };
    const created = await ok(api.mailboxes.$post({ json: { email: email("ok"), sender_name: "OK", transport: "smtp", smtp: cfg } }), 201);
    expect(created.mailbox).toMatchObject({ status: "connected", smtp: { has_password: true } });
  });

  it("verifies changed SMTP settings before saving them; the old settings stay when the new ones fail", async () => {
    const api = client(await login("rep1@demo.test")).api;
    const mb = (
      await ok(
        api.mailboxes.$post({
          json: {
            email: email("ch"),
            sender_name: "C",
            transport: "smtp",
            smtp: { host: smtp.host, port: smtp.ports.plain, security: "none", username: "demo", password: "secret" },
          },
        }),
        201,
      )
    ).mailbox;
    const param = { id: mb.id };
    const err = await errorOf(await api.mailboxes[":id"].$patch({ param, json: { smtp: { port: smtp.refusedPort, password: "secret" } } }));
    expect(err.status).toBe(422);
    expect(err.message).toContain("Could not connect");
    const row = await env.DB.prepare("SELECT transport_config FROM mailboxes WHERE id = ?")
      .bind(mb.id)
      .first<{ transport_config: string }>();
    expect((JSON.parse(row!.transport_config) as { port: number }).port).toBe(smtp.ports.plain);
    const changed = await api.mailboxes[":id"].$patch({ param, json: { smtp: { port: smtp.ports.loginOnly, password: "secret" } } });
    expect(changed.status).toBe(200);
    // Other settings don't reconnect to the server.
    expect((await api.mailboxes[":id"].$patch({ param, json: { daily_limit: 40 } })).status).toBe(200);
  });

  it("reconnect verifies first: a mailbox whose server stopped answering stays disconnected, with why", async () => {
    const api = client(await login("rep1@demo.test")).api;
    const mb = (
      await ok(
        api.mailboxes.$post({
          json: {
            email: email("rc"),
            sender_name: "C",
            transport: "smtp",
            smtp: { host: smtp.host, port: smtp.ports.plain, security: "none", username: "demo", password: "secret" },
          },
        }),
        201,
      )
    ).mailbox;
    const param = { id: mb.id };
    await api.mailboxes[":id"].disconnect.$post({ param });
    await env.DB.prepare("UPDATE mailboxes SET transport_config = json_set(transport_config, '$.port', ?) WHERE id = ?")
      .bind(smtp.refusedPort, mb.id)
      .run();
    const err = await errorOf(await api.mailboxes[":id"].reconnect.$post({ param }));
    expect(err.status).toBe(422);
    expect(err.message).toContain("Could not connect");
    expect((await env.DB.prepare("SELECT status FROM mailboxes WHERE id = ?").bind(mb.id).first<{ status: string }>())!.status).toBe(
      "disconnected",
    );
  });

  it("won't create Gmail or Microsoft 365 mailboxes without signing in", async () => {
    const api = client(await login("rep1@demo.test")).api;
    for (const transport of ["gmail", "graph"] as const) {
      const err = await errorOf(await api.mailboxes.$post({ json: { email: email("g"), sender_name: "G", transport } }));
      expect(err.status).toBe(422);
      expect(err.message).toMatch(/connected by signing in/);
    }
  });
});
