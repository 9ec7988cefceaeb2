import { describe, expect, inject, it } from "vitest";
import { DEMO } from "../../worker/seed/demo";
import { client, env, errorOf, fieldsOf, login, ok } from "../helpers";

// The local SMTP test server (test/fixtures/smtp-servers.mjs): mailboxes are verified when connected.
const smtpServer = inject("smtp");

describe("mailboxes", () => {
  it("connects an SMTP mailbox; the password is stored sealed and never returned", async () => {
    const api = client(await login("rep1@demo.test")).api;
    const email = `smtp-${crypto.randomUUID().slice(0, 8)}@demo.test`;
    const res = await api.mailboxes.$post({
      json: {
        email,
        sender_name: "Riley",
        daily_limit: 80,
        hourly_limit: 12,
        min_gap_seconds: 90,
        jitter_seconds: 10,
        transport: "smtp",
        smtp: { host: smtpServer.host, port: smtpServer.ports.plain, security: "none", username: "riley", password: "hunter2-secret" },
      },
    });
    expect(res.status).toBe(201);
    const text = await res.clone().text();
    expect(text).not.toContain("hunter2-secret");
    const { mailbox: mb } = await ok(Promise.resolve(res), 201);
    expect(mb.smtp).toEqual({
      host: smtpServer.host,
      port: smtpServer.ports.plain,
      security: "none",
      username: "riley",
      has_password: true,
    });
    expect(mb).toMatchObject({ daily_limit: 80, hourly_limit: 12, status: "connected", capacity: { used_last_24h: 0, left_today: 80 } });
    const row = await env.DB.prepare("select secret_ciphertext, transport_config from mailboxes where id = ?")
      .bind(mb.id)
      .first<{ secret_ciphertext: string; transport_config: string }>();
    expect(row!.secret_ciphertext).toMatch(/^[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$/);
    expect(row!.secret_ciphertext).not.toContain("hunter2");
    expect(row!.transport_config).not.toContain("hunter2");
    const list = await (await api.mailboxes.$get()).text();
    expect(list).not.toContain("hunter2-secret");
    expect(list).not.toContain(row!.secret_ciphertext);
  });

  it("refuses SMTP port 25 and missing SMTP settings, naming the field", async () => {
    const api = client(await login("rep1@demo.test")).api;
    const e1 = await errorOf(
      await api.mailboxes.$post({
        json: { email: "p25@demo.test", sender_name: "x", transport: "smtp", smtp: { host: "h", port: 25, security: "none" } },
      }),
    );
    expect(fieldsOf(e1)[0]!.field).toBe("smtp.port");
    const e2 = await errorOf(await api.mailboxes.$post({ json: { email: "nosmtp@demo.test", sender_name: "x", transport: "smtp" } }));
    expect(fieldsOf(e2)[0]!.field).toBe("smtp");
  });

  it("disconnects and reconnects; only the owner or an admin may", async () => {
    const owner = client(await login("rep2@demo.test")).api;
    const mb = (
      await ok(owner.mailboxes.$post({ json: { email: `dc-${crypto.randomUUID().slice(0, 8)}@demo.test`, sender_name: "Sam" } }), 201)
    ).mailbox;
    const param = { id: mb.id };
    const other = client(await login("rep1@demo.test")).api;
    expect((await errorOf(await other.mailboxes[":id"].disconnect.$post({ param }))).status).toBe(403);
    const off = (await ok(owner.mailboxes[":id"].disconnect.$post({ param }))).mailbox;
    expect(off).toMatchObject({ status: "disconnected", status_reason: "Disconnected by a user" });
    const admin = client(await login("admin@demo.test")).api;
    const on = (await ok(admin.mailboxes[":id"].reconnect.$post({ param }))).mailbox;
    expect(on).toMatchObject({ status: "connected", status_reason: null });
    const audit = await env.DB.prepare("select action from audit_log where target_id = ? order by created_at")
      .bind(mb.id)
      .all<{ action: string }>();
    expect(audit.results.map((a) => a.action)).toEqual(["mailbox.create", "mailbox.disconnect", "mailbox.reconnect"]);
  });

  it("sends a test email that lands in the Outbox as a real RFC 5322 message", async () => {
    const api = client(await login("admin@demo.test")).api;
    const mb = (
      await ok(
        api.mailboxes.$post({
          json: { email: `t-${crypto.randomUUID().slice(0, 8)}@demo.test`, sender_name: "Alex Morgan", signature: "Alex" },
        }),
        201,
      )
    ).mailbox;
    const res = await ok(api.mailboxes[":id"].test.$post({ param: { id: mb.id }, json: { to: "rep1@demo.test" } }));
    expect(res).toMatchObject({ ok: true });
    const out = await ok(api.messages.$get({ query: { mailbox_id: mb.id } }));
    expect(out.messages).toHaveLength(1);
    const sent = out.messages[0]!;
    expect(sent).toMatchObject({
      to_email: "rep1@demo.test",
      status: "sent",
      subject: "Seqflare test email from Alex Morgan",
    });
    const raw = await (await api.messages[":id"].raw.$get({ param: { id: sent.id } })).text();
    expect(raw).toMatch(/^From: "?Alex Morgan"? <.+@demo\.test>\r$/m);
    expect(raw).toMatch(/^Message-ID: <sf\.test\..+>\r$/m);
    const rival = client(await login("admin@rival.test")).api;
    expect((await rival.messages[":id"].raw.$get({ param: { id: sent.id } })).status).toBe(404);
    // Another team's mailbox as the Outbox's filter answers 404, not an empty page.
    expect(await errorOf(await rival.messages.$get({ query: { mailbox_id: mb.id } }))).toMatchObject({ status: 404, code: "not_found" });
  });

  it("a test email to an address that unsubscribed or bounced is refused, naming the field, and nothing is sent", async () => {
    const api = client(await login("admin@demo.test")).api;
    const mb = (
      await ok(api.mailboxes.$post({ json: { email: `t-${crypto.randomUUID().slice(0, 8)}@demo.test`, sender_name: "Alex" } }), 201)
    ).mailbox;
    // The mailbox's own address: a test may go there, so only the suppression refuses it.
    const to = mb.email;
    await env.DB.prepare(
      "INSERT INTO suppressions (id, team_id, email, reason, source, created_at) VALUES (?, ?, ?, 'unsubscribed', 'one_click', 0)",
    )
      .bind(crypto.randomUUID().replace(/-/g, "").slice(0, 24), DEMO.team, to)
      .run();
    const err = await errorOf(await api.mailboxes[":id"].test.$post({ param: { id: mb.id }, json: { to: to.toUpperCase() } }));
    expect(err).toMatchObject({ status: 422 });
    expect(fieldsOf(err)[0]).toMatchObject({ field: "to", message: expect.stringMatching(/^This address unsubscribed/) });
    expect((await ok(api.messages.$get({ query: { mailbox_id: mb.id } }))).messages).toHaveLength(0);
  });

  it("another team's mailbox answers 404", async () => {
    const api = client(await login("admin@demo.test")).api;
    const rivalMb = await env.DB.prepare("select id from mailboxes where team_id = (select id from teams where name = 'Rival')").first<{
      id: string;
    }>();
    const param = { id: rivalMb!.id };
    expect((await api.mailboxes[":id"].$get({ param })).status).toBe(404);
    expect((await api.mailboxes[":id"].$patch({ param, json: { daily_limit: 1 } })).status).toBe(404);
  });
});
