import { describe, expect, inject, it } from "vitest";
import { as, env, errorOf, login } from "../helpers";

// The local SMTP test server (test/fixtures/smtp-servers.mjs): mailboxes are verified when connected.
const smtpServer = inject("smtp");

const json = async (r: Response) => (await r.json()) as any;

describe("mailboxes", () => {
  it("connects an SMTP mailbox; the password is stored sealed and never returned", async () => {
    const s = await login("rep1@demo.test");
    const email = `smtp-${crypto.randomUUID().slice(0, 8)}@demo.test`;
    const res = await as(s, "POST", "/api/mailboxes", {
      email,
      sender_name: "Riley",
      daily_limit: 80,
      hourly_limit: 12,
      min_gap_seconds: 90,
      jitter_seconds: 10,
      transport: "smtp",
      smtp: { host: smtpServer.host, port: smtpServer.ports.plain, security: "none", username: "riley", password: "hunter2-secret" },
    });
    expect(res.status).toBe(201);
    const text = await res.clone().text();
    expect(text).not.toContain("hunter2-secret");
    const mb = (await json(res)).mailbox;
    expect(mb.smtp).toEqual({
      host: smtpServer.host,
      port: smtpServer.ports.plain,
      security: "none",
      username: "riley",
      has_password: true,
    });
    expect(mb).toMatchObject({ daily_limit: 80, hourly_limit: 12, status: "connected", capacity: { used_last_24h: 0, left_today: 80 } });
    const row = await env.DB.prepare("select secret_ciphertext, transport_config from mailboxes where id = ?").bind(mb.id).first<any>();
    expect(row.secret_ciphertext).toMatch(/^[A-Za-z0-9+/=]+\.[A-Za-z0-9+/=]+$/);
    expect(row.secret_ciphertext).not.toContain("hunter2");
    expect(row.transport_config).not.toContain("hunter2");
    const list = await (await as(s, "GET", "/api/mailboxes")).text();
    expect(list).not.toContain("hunter2-secret");
    expect(list).not.toContain(row.secret_ciphertext);
  });

  it("refuses SMTP port 25 and missing SMTP settings, naming the field", async () => {
    const s = await login("rep1@demo.test");
    const e1 = await errorOf(
      await as(s, "POST", "/api/mailboxes", {
        email: "p25@demo.test",
        sender_name: "x",
        transport: "smtp",
        smtp: { host: "h", port: 25, security: "none" },
      }),
    );
    expect(e1.details.fields[0].field).toBe("smtp.port");
    const e2 = await errorOf(await as(s, "POST", "/api/mailboxes", { email: "nosmtp@demo.test", sender_name: "x", transport: "smtp" }));
    expect(e2.details.fields[0].field).toBe("smtp");
  });

  it("disconnects and reconnects; only the owner or an admin may", async () => {
    const owner = await login("rep2@demo.test");
    const mb = (
      await json(
        await as(owner, "POST", "/api/mailboxes", { email: `dc-${crypto.randomUUID().slice(0, 8)}@demo.test`, sender_name: "Sam" }),
      )
    ).mailbox;
    const other = await login("rep1@demo.test");
    expect((await errorOf(await as(other, "POST", `/api/mailboxes/${mb.id}/disconnect`))).status).toBe(403);
    const off = (await json(await as(owner, "POST", `/api/mailboxes/${mb.id}/disconnect`))).mailbox;
    expect(off).toMatchObject({ status: "disconnected", status_reason: "Disconnected by a user" });
    const admin = await login("admin@demo.test");
    const on = (await json(await as(admin, "POST", `/api/mailboxes/${mb.id}/reconnect`))).mailbox;
    expect(on).toMatchObject({ status: "connected", status_reason: null });
    const audit = await env.DB.prepare("select action from audit_log where target_id = ? order by created_at").bind(mb.id).all<any>();
    expect(audit.results.map((a: any) => a.action)).toEqual(["mailbox.create", "mailbox.disconnect", "mailbox.reconnect"]);
  });

  it("sends a test email that lands in the Outbox as a real RFC 5322 message", async () => {
    const s = await login("admin@demo.test");
    const mb = (
      await json(
        await as(s, "POST", "/api/mailboxes", {
          email: `t-${crypto.randomUUID().slice(0, 8)}@demo.test`,
          sender_name: "Alex Morgan",
          signature: "Alex",
        }),
      )
    ).mailbox;
    const res = await json(await as(s, "POST", `/api/mailboxes/${mb.id}/test`, { to: "someone@example.test" }));
    expect(res).toMatchObject({ ok: true });
    const out = await json(await as(s, "GET", `/api/messages?mailbox_id=${mb.id}`));
    expect(out.messages).toHaveLength(1);
    expect(out.messages[0]).toMatchObject({
      to_email: "someone@example.test",
      status: "sent",
      subject: "Seqflare test email from Alex Morgan",
    });
    const raw = await (await as(s, "GET", `/api/messages/${out.messages[0].id}/raw`)).text();
    expect(raw).toMatch(/^From: "?Alex Morgan"? <.+@demo\.test>\r$/m);
    expect(raw).toMatch(/^Message-ID: <sf\.test\..+>\r$/m);
    const rival = await login("admin@rival.test");
    expect((await as(rival, "GET", `/api/messages/${out.messages[0].id}/raw`)).status).toBe(404);
    expect((await json(await as(rival, "GET", `/api/messages?mailbox_id=${mb.id}`))).messages).toHaveLength(0);
  });

  it("another team's mailbox answers 404", async () => {
    const s = await login("admin@demo.test");
    const rivalMb = await env.DB.prepare(
      "select id from mailboxes where team_id = (select id from teams where name = 'Rival')",
    ).first<any>();
    expect((await as(s, "GET", `/api/mailboxes/${rivalMb.id}`)).status).toBe(404);
    expect((await as(s, "PATCH", `/api/mailboxes/${rivalMb.id}`, { daily_limit: 1 })).status).toBe(404);
  });
});
