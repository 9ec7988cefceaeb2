// The Outbox's "Sent (incl. bounced)" is, as the README says, what the sequence list and report count as sent:
// a mailbox's test email (sequence_id '') is in neither, and was in the Outbox's total and list (8,170 against
// the list's 8,169). A deleted contact's emails showed the person's name, which Home and the exports blank.
import { describe, expect, it } from "vitest";
import { countedGet, client, env, ok } from "../helpers";
import { makeContacts, makeMailbox, makeMessages, makeSequence, makeTeam, sessionFor } from "../fixtures";

type Outbox = {
  messages: { id: string; status: string; sequence: { id: string } | null; contact: { id: string; name: string } | null }[];
  pagination: { total_entries: number };
};

describe("the outbox's figures", () => {
  it("sent_or_bounced leaves test emails out, in its total and its list, as the sequence list does", async () => {
    const { teamId, userId } = await makeTeam("Outbox tests");
    const s = await sessionFor(teamId, userId);
    const api = client(s).api;
    const email = `t-${crypto.randomUUID().slice(0, 8)}@sender.test`;
    const mb = (await ok(api.mailboxes.$post({ json: { email, sender_name: "Admin", signature: "" } }), 201)).mailbox;
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }], null, false);
    const statuses = ["sent", "sent", "bounced", "failed"];
    await makeMessages(teamId, sequenceId, stepIds[0]!, mb.id, await makeContacts(teamId, 8), (i) => statuses[i % 4]!);
    // One test email: sent, in D1's messages, with no sequence.
    expect(await ok(api.mailboxes[":id"].test.$post({ param: { id: mb.id }, json: { to: email } }))).toMatchObject({ ok: true });
    const rows = await env.DB.prepare("SELECT sequence_id, status FROM messages WHERE team_id = ?")
      .bind(teamId)
      .all<{ sequence_id: string; status: string }>();
    expect(rows.results.filter((r) => r.sequence_id === "" && r.status === "sent")).toHaveLength(1);

    const list = await countedGet<{ sequences: { id: string; sent: number }[] }>(s.cookie, "/api/sequences?per_page=100");
    const sent = list.body.sequences.reduce((n, x) => n + x.sent, 0);
    expect(sent).toBe(6);
    // The whole outbox (its total from kept counts) and one mailbox's (counted): what the sequence list counts.
    for (const scope of ["", `&mailbox_id=${mb.id}`]) {
      const r = await countedGet<Outbox>(s.cookie, `/api/messages?per_page=100&status=sent_or_bounced${scope}`);
      expect(r.status).toBe(200);
      expect(r.body.pagination.total_entries).toBe(sent);
      expect(r.body.messages).toHaveLength(sent);
      expect(r.body.messages.every((m) => m.sequence?.id === sequenceId)).toBe(true);
    }
    // "Sent" alone is still every delivered email, the test one included.
    const delivered = await countedGet<Outbox>(s.cookie, "/api/messages?per_page=100&status=sent");
    expect(delivered.body.pagination.total_entries).toBe(5);
  });

  it("a deleted contact's emails stay without the person's name", async () => {
    const { teamId, userId } = await makeTeam("Outbox deleted");
    const s = await sessionFor(teamId, userId);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }], null, false);
    const mb = makeMailbox(teamId, userId);
    const [kept, gone] = await makeContacts(teamId, 2);
    await makeMessages(teamId, sequenceId, stepIds[0]!, await mb, [kept!, gone!]);
    await env.DB.prepare("UPDATE contacts SET deleted_at = 1 WHERE id = ?").bind(gone).run();
    const names = new Map(
      (
        await env.DB.prepare("SELECT id, trim(first_name || ' ' || last_name) AS name FROM contacts WHERE team_id = ?")
          .bind(teamId)
          .all<{ id: string; name: string }>()
      ).results.map((r) => [r.id, r.name]),
    );
    const r = await countedGet<Outbox>(s.cookie, "/api/messages?per_page=100");
    expect(r.body.messages).toHaveLength(2);
    const byContact = r.body.messages.map((m) => m.contact);
    expect(byContact).toContainEqual({ id: kept, name: names.get(kept!) });
    expect(byContact).toContainEqual(null);
    expect(JSON.stringify(r.body)).not.toContain(names.get(gone!)!);
  });
});
