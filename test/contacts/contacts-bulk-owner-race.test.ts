import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { client, env, ok } from "../helpers";
import { addContactsSetup, makeContacts, makeUser, sessionFor } from "../fixtures";

beforeEach(() => resetClock());

const ownerOf = async (id: string) =>
  (await env.DB.prepare("SELECT owner_id FROM contacts WHERE id = ?").bind(id).first<{ owner_id: string | null }>())!.owner_id;

type Stmt = D1PreparedStatement & Record<string, unknown>;
/** Runs `between` once, just before the first statement whose SQL matches runs: another request's write in between. */
function before(pattern: RegExp, between: () => Promise<unknown>) {
  const proto = Object.getPrototypeOf(env.DB) as { prepare: (q: string) => D1PreparedStatement };
  const prepare = proto.prepare;
  let fired = false;
  const wrap = (st: Stmt): Stmt =>
    new Proxy(st, {
      get(t, k) {
        const v = Reflect.get(t, k) as unknown;
        if (k === "bind") return (...a: unknown[]) => wrap((t.bind as (...x: unknown[]) => Stmt)(...a));
        if (typeof v === "function" && ["all", "raw", "run", "first"].includes(String(k)))
          return async (...a: unknown[]) => {
            if (!fired) {
              fired = true;
              await between();
            }
            return (v as (...x: unknown[]) => unknown).apply(t, a);
          };
        return typeof v === "function" ? (v as (...x: unknown[]) => unknown).bind(t) : v;
      },
    });
  proto.prepare = function (this: D1Database, q: string) {
    const st = prepare.call(this, q) as Stmt;
    return pattern.test(q) ? wrap(st) : st;
  };
  return () => {
    proto.prepare = prepare;
    return fired;
  };
}

describe("contacts: bulk owner change against a concurrent one", () => {
  it("a member taking an unowned contact that a colleague took meanwhile leaves it the colleague's and reports it refused", async () => {
    const x = await addContactsSetup();
    const m = await makeUser(x.teamId);
    const colleague = await makeUser(x.teamId);
    const [contested, free] = await makeContacts(x.teamId, 2);
    await env.DB.prepare("UPDATE contacts SET owner_id = NULL WHERE id IN (?, ?)").bind(contested, free).run();
    const api = client(await sessionFor(x.teamId, m)).api;
    // The colleague takes it after the bulk change read it unowned, before its write.
    const restore = before(/^update "contacts" set "owner_id"/i, () =>
      env.DB.prepare("UPDATE contacts SET owner_id = ? WHERE id = ?").bind(colleague, contested).run(),
    );
    let r;
    try {
      r = await ok(api.contacts.bulk.$post({ json: { action: "change_owner", contact_ids: [contested!, free!], owner_id: m } }));
    } finally {
      expect(restore()).toBe(true);
    }
    expect(await ownerOf(contested!)).toBe(colleague);
    expect(await ownerOf(free!)).toBe(m);
    expect(r.updated).toBe(1);
    expect(r.refused.map((x) => x.contact_id)).toEqual([contested]);
    expect(r.refused[0]!.message).toMatch(/owner changed/);
    // Only the contact it changed is audited as given to the member.
    const audits = await env.DB.prepare("SELECT target_id FROM audit_log WHERE team_id = ? AND action = 'contact.owner'")
      .bind(x.teamId)
      .all<{ target_id: string }>();
    expect(audits.results.map((a) => a.target_id)).toEqual([free]);
  });

  it("a contact deleted between the read and the write keeps its owner, is not counted or audited, and is reported left alone", async () => {
    const x = await addContactsSetup();
    const m = await makeUser(x.teamId);
    const [gone, kept] = await makeContacts(x.teamId, 2);
    const before0 = await ownerOf(gone!);
    const api = client(await sessionFor(x.teamId, x.userId)).api;
    const restore = before(/^update "contacts" set "owner_id"/i, () =>
      env.DB.prepare("UPDATE contacts SET deleted_at = 1 WHERE id = ?").bind(gone).run(),
    );
    let r;
    try {
      r = await ok(api.contacts.bulk.$post({ json: { action: "change_owner", contact_ids: [gone!, kept!], owner_id: m } }));
    } finally {
      expect(restore()).toBe(true);
    }
    expect(await ownerOf(gone!)).toBe(before0);
    expect(await ownerOf(kept!)).toBe(m);
    expect(r.updated).toBe(1);
    expect(r.refused.map((x) => x.contact_id)).toEqual([gone]);
    expect(r.refused[0]!.message).toMatch(/deleted/);
    const audits = await env.DB.prepare("SELECT target_id FROM audit_log WHERE team_id = ? AND action = 'contact.owner'")
      .bind(x.teamId)
      .all<{ target_id: string }>();
    expect(audits.results.map((a) => a.target_id)).toEqual([kept]);
  });
});
