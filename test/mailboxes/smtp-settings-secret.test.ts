// The saved SMTP password is only ever sent to the server and account it was saved for: changing the
// host, port, security or username asks for the password again, and the old one never reaches the new
// server (the test SMTP servers record every AUTH attempt).
import { describe, expect, inject, it } from "vitest";
import type { RecordedAuth } from "../fixtures/smtp-servers.mjs";
import { client, env, errorOf, fieldsOf, login, ok } from "../helpers";

const smtp = inject("smtp");
const authsWith = async (password: string) =>
  ((await (await fetch(`http://${smtp.host}:${smtp.httpPort}/auths`)).json()) as RecordedAuth[]).filter((a) => a.password === password)
    .length;

async function smtpMailbox() {
  const api = client(await login("rep1@demo.test")).api;
  const { mailbox } = await ok(
    api.mailboxes.$post({
      json: {
        email: `sec-${crypto.randomUUID().slice(0, 8)}@demo.test`,
        sender_name: "S",
        transport: "smtp",
        smtp: { host: smtp.host, port: smtp.ports.plain, security: "none", username: "demo", password: "secret" },
      },
    }),
    201,
  );
  return { api, param: { id: mailbox.id } };
}

const config = async (id: string) =>
  JSON.parse(
    (await env.DB.prepare("SELECT transport_config FROM mailboxes WHERE id = ?").bind(id).first<{ transport_config: string }>())!
      .transport_config,
  ) as { host: string; port: number; security: string; username?: string };

describe("changing SMTP settings", () => {
  it("a new host, port, security or username without the password is refused on smtp.password, and the saved password goes nowhere", async () => {
    const { api, param } = await smtpMailbox();
    const before = await authsWith("secret");
    for (const change of [
      { port: smtp.ports.loginOnly },
      { host: "localhost" },
      { security: "tls" as const },
      { username: "someone-else" },
    ]) {
      const err = await errorOf(await api.mailboxes[":id"].$patch({ param, json: { smtp: change } }));
      expect(err).toMatchObject({ status: 422, code: "validation_failed" });
      expect(fieldsOf(err)).toEqual([
        expect.objectContaining({ field: "smtp.password", message: expect.stringMatching(/enter the password again/i) }),
      ]);
    }
    expect(await authsWith("secret")).toBe(before);
    expect(await config(param.id)).toMatchObject({ host: smtp.host, port: smtp.ports.plain, security: "none", username: "demo" });
  });

  it("the same settings sent again keep the saved password; new settings with the password connect and save", async () => {
    const { api, param } = await smtpMailbox();
    const same = { host: smtp.host, port: smtp.ports.plain, security: "none" as const, username: "demo" };
    expect((await ok(api.mailboxes[":id"].$patch({ param, json: { sender_name: "Again", smtp: same } }))).mailbox).toMatchObject({
      sender_name: "Again",
      smtp: { has_password: true },
    });
    const moved = await ok(api.mailboxes[":id"].$patch({ param, json: { smtp: { port: smtp.ports.loginOnly, password: "secret" } } }));
    expect(moved.mailbox.smtp).toMatchObject({ port: smtp.ports.loginOnly, has_password: true });
    expect((await config(param.id)).port).toBe(smtp.ports.loginOnly);
  });
});
