// The outbox's "sent" filter is the emails that went out and didn't bounce; `sent_or_bounced` is every email
// that went out, which is what the sequence list and report call sent. Before, the outbox had no way to list
// what the list counted: its Sent showed 1,086 of a sequence's 1,116 and the 30 bounced ones were elsewhere.
import { describe, expect, it } from "vitest";
import { countedGet } from "../helpers";
import { makeContacts, makeMailbox, makeMessages, makeSequence, makeTeam, sessionFor } from "../fixtures";

type Outbox = { messages: { status: string }[]; pagination: { total_entries: number } };

describe("the outbox's sent filters", () => {
  it("sent_or_bounced lists every email that went out, as the sequence list counts sent; sent leaves bounced ones out", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const contacts = await makeContacts(teamId, 40);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }], null, false);
    const mailboxId = await makeMailbox(teamId, userId);
    const statuses = ["sent", "sent", "bounced", "failed"];
    await makeMessages(teamId, sequenceId, stepIds[0]!, mailboxId, contacts, (i) => statuses[i % statuses.length]!);

    const get = async (query: string) => {
      const r = await countedGet<Outbox>(s.cookie, `/api/messages?per_page=100&${query}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body;
    };
    const list = await countedGet<{ sequences: { id: string; sent: number; bounced: number }[] }>(s.cookie, "/api/sequences?per_page=100");
    const row = list.body.sequences.find((x) => x.id === sequenceId)!;
    expect(row).toMatchObject({ sent: 30, bounced: 10 });

    // The team's whole outbox (totals from the kept counts) and one sequence's (counted): both agree with the list.
    for (const scope of ["", `sequence_id=${sequenceId}`]) {
      const all = await get(`status=sent_or_bounced&${scope}`);
      expect(all.pagination.total_entries).toBe(row.sent);
      expect(all.messages).toHaveLength(row.sent);
      expect(new Set(all.messages.map((m) => m.status))).toEqual(new Set(["sent", "bounced"]));
      const delivered = await get(`status=sent&${scope}`);
      expect(delivered.pagination.total_entries).toBe(row.sent - row.bounced);
      expect(delivered.messages.every((m) => m.status === "sent")).toBe(true);
    }
  });
});
