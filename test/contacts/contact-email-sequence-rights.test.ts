// A contact's address is where its sequences' queued and next emails go, and its email status whether they go:
// changing either is changing those sequences, so it needs edit rights on every sequence the contact is running
// in (invariant 9), as Do Not Contact and deleting do. A member with a view share, or none, of another's
// sequence could otherwise redirect its emails to an address of their own.
import { beforeEach, describe, expect, it } from "vitest";
import { as, env, errorOf, withKey } from "../helpers";
import { enroll, makeContacts, makeMailbox, makeSequence, makeTeam, makeUser, sessionFor, startSimulation } from "../fixtures";

async function standardKey(teamId: string, userId: string) {
  const { sha256Hex } = await import("../../worker/lib/crypto");
  const key = `s-${crypto.randomUUID()}`;
  await env.DB.prepare(
    "INSERT INTO api_keys (id, team_id, created_by, name, kind, key_hash, prefix, created_at) VALUES (?, ?, ?, 'std', 'standard', ?, ?, 0)",
  )
    .bind(crypto.randomUUID(), teamId, userId, await sha256Hex(key), key.slice(0, 9))
    .run();
  return key;
}
const contactRow = async (id: string) =>
  (await env.DB.prepare("SELECT email, email_status FROM contacts WHERE id = ?")
    .bind(id)
    .first<{ email: string | null; email_status: string }>())!;
const share = (teamId: string, sequenceId: string, userId: string, access: "view" | "edit") =>
  env.DB.prepare("INSERT INTO sequence_shares (sequence_id, user_id, team_id, access) VALUES (?, ?, ?, ?)")
    .bind(sequenceId, userId, teamId, access)
    .run();
const apollo = (key: string, id: string, body: unknown) => withKey(key, "PATCH", `/apollo/api/v1/contacts/${id}`, body);

describe("changing the address of a contact in a sequence the caller can't edit", () => {
  beforeEach(() => startSimulation());

  it("is refused (403) for a member and a standard key, with a view share or none, natively and through Apollo; nothing changes", async () => {
    const { teamId, userId: admin } = await makeTeam();
    const mailbox = await makeMailbox(teamId, admin);
    const { sequenceId: viewed } = await makeSequence(teamId, admin, [{ wait: 5 }], null);
    const { sequenceId: hidden } = await makeSequence(teamId, admin, [{ wait: 5 }], null);
    const [inViewed, inHidden] = await makeContacts(teamId, 2);
    await enroll(teamId, viewed, [inViewed!], [mailbox]);
    await enroll(teamId, hidden, [inHidden!], [mailbox]);
    const member = await makeUser(teamId, "member");
    await share(teamId, viewed, member, "view");
    const ms = await sessionFor(teamId, member);
    const key = await standardKey(teamId, member);

    for (const id of [inViewed!, inHidden!]) {
      const before = await contactRow(id);
      const attempts = [
        () => as(ms, "PATCH", `/api/contacts/${id}`, { email: "attacker2@evil.test" }),
        () => as(ms, "PATCH", `/api/contacts/${id}`, { email_status: before.email_status === "verified" ? "unavailable" : "verified" }),
        () => withKey(key, "PATCH", `/api/contacts/${id}`, { email: "attacker2@evil.test" }),
        () => apollo(key, id, { email: "attacker2@evil.test" }),
        () => apollo(key, id, { email_status: before.email_status === "verified" ? "unavailable" : "verified" }),
      ];
      for (const [i, attempt] of attempts.entries()) {
        const e = await errorOf(await attempt());
        expect({ i, status: e.status, code: e.code }).toEqual({ i, status: 403, code: "forbidden" });
        expect(e.message).toMatch(
          /^1 of these contacts is in a sequence you can't edit; changing their email address would change where its emails go/,
        );
      }
      expect(await contactRow(id)).toEqual(before);
    }
  });

  it("is allowed to the sequence's editors, and to anyone for a contact running in no sequence", async () => {
    const { teamId, userId: admin } = await makeTeam();
    const mailbox = await makeMailbox(teamId, admin);
    const { sequenceId } = await makeSequence(teamId, admin, [{ wait: 5 }], null);
    const [inSequence, loose, finished] = await makeContacts(teamId, 3);
    await enroll(teamId, sequenceId, [inSequence!, finished!], [mailbox]);
    await env.DB.prepare("UPDATE enrollments SET status = 'finished' WHERE contact_id = ?").bind(finished).run();
    const member = await makeUser(teamId, "member");
    const ms = await sessionFor(teamId, member);
    const key = await standardKey(teamId, member);

    // No open run: nothing of a sequence changes.
    expect((await as(ms, "PATCH", `/api/contacts/${loose}`, { email: "loose.new@example.test" })).status).toBe(200);
    expect((await apollo(key, finished!, { email: "finished.new@example.test" })).status).toBe(200);
    expect((await contactRow(loose!)).email).toBe("loose.new@example.test");
    expect((await contactRow(finished!)).email).toBe("finished.new@example.test");

    // Resending the address and status it has is no change.
    const same = await contactRow(inSequence!);
    expect((await as(ms, "PATCH", `/api/contacts/${inSequence}`, { email: same.email, email_status: same.email_status })).status).toBe(200);

    // An edit share, and the owner, may.
    await share(teamId, sequenceId, member, "edit");
    expect((await as(ms, "PATCH", `/api/contacts/${inSequence}`, { email: "edited.by.editor@example.test" })).status).toBe(200);
    expect((await contactRow(inSequence!)).email).toBe("edited.by.editor@example.test");
    const owner = await sessionFor(teamId, admin);
    expect((await as(owner, "PATCH", `/api/contacts/${inSequence}`, { email: "edited.by.owner@example.test" })).status).toBe(200);
    expect((await contactRow(inSequence!)).email).toBe("edited.by.owner@example.test");
  });
});
