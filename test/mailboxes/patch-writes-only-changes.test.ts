// A mailbox PATCH writes only what it changes, and never onto a mailbox removed since it read it. Before,
// it wrote `transport` and the whole transport_config back from the copy it read: a reply-poll round's
// cursor (json_set on transport_config) moved meanwhile was rolled back by a sender-name edit, and a PATCH
// racing a removal wrote a freshly sealed password onto the removed row.
import { afterEach, describe, expect, inject, it } from "vitest";
import { makeMailbox, makeTeam, sessionFor } from "../fixtures";
import { as, client, env, errorOf, login, ok } from "../helpers";

const smtp = inject("smtp");

type Batch = (this: D1Database, s: { statement?: string }[]) => Promise<unknown>;
const proto = Object.getPrototypeOf(env.DB) as { batch: Batch };
const realBatch = proto.batch;

/** The next batch that updates a mailbox first lets `meanwhile` run (between the PATCH's read and its write). */
function beforeMailboxWrite(meanwhile: () => Promise<unknown>) {
  proto.batch = async function (stmts) {
    if (stmts.some((x) => /^update "mailboxes"/i.test(x.statement ?? ""))) {
      proto.batch = realBatch;
      await meanwhile();
    }
    return realBatch.call(this, stmts);
  };
}

const row = (id: string) =>
  env.DB.prepare("SELECT sender_name, status, transport, transport_config, secret_ciphertext FROM mailboxes WHERE id = ?")
    .bind(id)
    .first<{ sender_name: string; status: string; transport: string; transport_config: string; secret_ciphertext: string | null }>();
const updates = async (id: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'mailbox.update' AND target_id = ?")
    .bind(id)
    .first<{ n: number }>())!.n;

describe("a mailbox PATCH", () => {
  afterEach(() => {
    proto.batch = realBatch;
  });

  it("keeps a reply-poll cursor moved between its read and its write (a sender-name edit)", async () => {
    const { teamId, userId } = await makeTeam();
    const id = await makeMailbox(teamId, userId);
    await env.DB.prepare("UPDATE mailboxes SET transport = 'gmail', transport_config = ? WHERE id = ?")
      .bind(JSON.stringify({ history_id: "100", polled_at: 1 }), id)
      .run();
    beforeMailboxWrite(() =>
      env.DB.prepare(
        "UPDATE mailboxes SET transport_config = json_set(transport_config, '$.history_id', '200', '$.polled_at', 2) WHERE id = ?",
      )
        .bind(id)
        .run(),
    );
    const res = await as(await sessionFor(teamId, userId), "PATCH", `/api/mailboxes/${id}`, { sender_name: "Renamed" });
    expect(res.status, await res.clone().text()).toBe(200);
    const r = (await row(id))!;
    expect(r.sender_name).toBe("Renamed");
    expect(r.transport).toBe("gmail");
    expect(JSON.parse(r.transport_config)).toEqual({ history_id: "200", polled_at: 2 });
    expect(await updates(id)).toBe(1);
  });

  it("changed SMTP settings are saved key by key, beside a cursor field written meanwhile", async () => {
    const api = client(await login("rep1@demo.test")).api;
    const { mailbox } = await ok(
      api.mailboxes.$post({
        json: {
          email: `keys-${crypto.randomUUID().slice(0, 8)}@demo.test`,
          sender_name: "S",
          transport: "smtp",
          smtp: { host: smtp.host, port: smtp.ports.plain, security: "none", username: "demo", password: "secret" },
        },
      }),
      201,
    );
    beforeMailboxWrite(() =>
      env.DB.prepare("UPDATE mailboxes SET transport_config = json_set(transport_config, '$.polled_at', 7) WHERE id = ?")
        .bind(mailbox.id)
        .run(),
    );
    await ok(
      api.mailboxes[":id"].$patch({
        param: { id: mailbox.id },
        json: { smtp: { host: smtp.host, port: smtp.ports.loginOnly, security: "none", username: "demo", password: "secret" } },
      }),
    );
    expect(JSON.parse((await row(mailbox.id))!.transport_config)).toEqual({
      host: smtp.host,
      port: smtp.ports.loginOnly,
      security: "none",
      username: "demo",
      polled_at: 7,
    });
  });

  it("on a mailbox removed meanwhile writes nothing, and says so", async () => {
    const api = client(await login("rep1@demo.test")).api;
    const { mailbox } = await ok(
      api.mailboxes.$post({
        json: {
          email: `gone-${crypto.randomUUID().slice(0, 8)}@demo.test`,
          sender_name: "Before",
          transport: "smtp",
          smtp: { host: smtp.host, port: smtp.ports.plain, security: "none", username: "demo", password: "secret" },
        },
      }),
      201,
    );
    const audited = await updates(mailbox.id);
    beforeMailboxWrite(() =>
      env.DB.prepare("UPDATE mailboxes SET status = 'removed', secret_ciphertext = NULL WHERE id = ?").bind(mailbox.id).run(),
    );
    const removed = (await row(mailbox.id))!;
    const err = await errorOf(
      await api.mailboxes[":id"].$patch({
        param: { id: mailbox.id },
        json: {
          sender_name: "After",
          smtp: { host: smtp.host, port: smtp.ports.plain, security: "none", username: "demo", password: "secret" },
        },
      }),
    );
    expect(err).toMatchObject({ status: 409, code: "conflict", message: expect.stringMatching(/removed .*nothing was saved/) });
    expect(await row(mailbox.id)).toEqual({ ...removed, status: "removed", secret_ciphertext: null });
    expect(await updates(mailbox.id)).toBe(audited);
  });
});
