// An SMTP mailbox whose saved password no longer unseals (APP_SECRET changed since it was saved) answers
// in words on edit and reconnect. Before, AES-GCM's throw on the wrong key was a 500: the edit form always
// sends host, port and security, so changing only the daily limit read the saved password; Reconnect too.
import { describe, expect, inject, it } from "vitest";
import { seal } from "../../worker/lib/seal";
import { client, env, errorOf, fieldsOf, login, ok } from "../helpers";

const smtp = inject("smtp");

async function mailboxSealedUnderAnotherSecret() {
  const api = client(await login("rep1@demo.test")).api;
  const { mailbox } = await ok(
    api.mailboxes.$post({
      json: {
        email: `old-key-${crypto.randomUUID().slice(0, 8)}@demo.test`,
        sender_name: "S",
        transport: "smtp",
        smtp: { host: smtp.host, port: smtp.ports.plain, security: "none", username: "demo", password: "secret" },
      },
    }),
    201,
  );
  const sealed = await seal("the APP_SECRET before it was rotated", "secret");
  await env.DB.prepare("UPDATE mailboxes SET secret_ciphertext = ? WHERE id = ?").bind(sealed, mailbox.id).run();
  return { api, param: { id: mailbox.id }, sealed };
}

const row = (id: string) =>
  env.DB.prepare("SELECT daily_limit, status, secret_ciphertext, transport_config FROM mailboxes WHERE id = ?")
    .bind(id)
    .first<{ daily_limit: number; status: string; secret_ciphertext: string; transport_config: string }>();

describe("a saved SMTP password that can't be read any more", () => {
  it("an edit of the daily limit (the form sends the server too) is a 422 on smtp.password, and nothing changes", async () => {
    const { api, param, sealed } = await mailboxSealedUnderAnotherSecret();
    const before = await row(param.id);
    const err = await errorOf(
      await api.mailboxes[":id"].$patch({
        param,
        json: { daily_limit: before!.daily_limit + 7, smtp: { host: smtp.host, port: smtp.ports.plain, security: "none" } },
      }),
    );
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(err)).toEqual([
      expect.objectContaining({ field: "smtp.password", message: "The saved password can't be read any more; enter it again" }),
    ]);
    expect(await row(param.id)).toEqual({ ...before, secret_ciphertext: sealed });
  });

  it("entering the password again saves the edit", async () => {
    const { api, param, sealed } = await mailboxSealedUnderAnotherSecret();
    const { mailbox } = await ok(
      api.mailboxes[":id"].$patch({
        param,
        json: { daily_limit: 33, smtp: { host: smtp.host, port: smtp.ports.plain, security: "none", password: "secret" } },
      }),
    );
    expect(mailbox.daily_limit).toBe(33);
    expect((await row(param.id))!.secret_ciphertext).not.toBe(sealed);
  });

  it("reconnect answers why in words and the mailbox stays disconnected", async () => {
    const { api, param } = await mailboxSealedUnderAnotherSecret();
    await ok(api.mailboxes[":id"].disconnect.$post({ param }));
    const err = await errorOf(await api.mailboxes[":id"].reconnect.$post({ param }));
    expect(err).toMatchObject({ status: 422, message: "The saved password can't be read any more; enter it again" });
    expect((await row(param.id))!.status).toBe("disconnected");
  });
});
