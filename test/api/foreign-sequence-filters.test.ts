// A sequence id given as a filter is checked like a sequence's own pages (/messages, /replies,
// /scheduled-emails): one the caller can't see, another team's or one not shared with a member, answers
// 404. An empty 200 told the caller that the id was a real sequence with nothing in it.
import { beforeEach, describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup, makeContacts } from "../fixtures";
import { as, call, env, errorOf, login } from "../helpers";
import { masterKey } from "../apollo/apollo-key";
import { seedId } from "../../worker/seed/random";

const json = async <T>(r: Response) => (await r.json()) as T;
const SEQ_REP1 = seedId(0x0a, 2); // rep1's, shared with the admin; rep2 can't see it

const messagesSearch = (key: string, body: unknown) =>
  call("/apollo/api/v1/emailer_messages/search", {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

beforeEach(() => resetClock());

describe("a foreign sequence id as a filter", () => {
  it("GET /api/jobs?sequence_id= lists the caller's sequence's jobs and answers 404 for one it can't see", async () => {
    const x = await addContactsSetup();
    const [contact] = await makeContacts(x.teamId, 1);
    const started = await as(x.s, "POST", `/api/sequences/${x.sequenceId}/add-contacts`, {
      source: { contact_ids: [contact] },
      mailbox_ids: x.mailboxIds,
      skip_validation: true,
    });
    expect(started.status).toBe(202);
    const { job } = await json<{ job: { id: string } }>(started);
    const mine = await json<{ jobs: { id: string }[] }>(await as(x.s, "GET", `/api/jobs?sequence_id=${x.sequenceId}`));
    expect(mine.jobs.map((j) => j.id)).toEqual([job.id]);

    // Another team's sequence, which has a job of its own.
    const other = await addContactsSetup();
    const [theirs] = await makeContacts(other.teamId, 1);
    expect(
      (
        await as(other.s, "POST", `/api/sequences/${other.sequenceId}/add-contacts`, {
          source: { contact_ids: [theirs] },
          mailbox_ids: other.mailboxIds,
          skip_validation: true,
        })
      ).status,
    ).toBe(202);
    expect(await errorOf(await as(x.s, "GET", `/api/jobs?sequence_id=${other.sequenceId}`))).toMatchObject({
      status: 404,
      code: "not_found",
    });
    expect(await errorOf(await as(x.s, "GET", `/api/jobs?sequence_id=${newId()}`))).toMatchObject({ status: 404 });

    // Same team, a sequence not shared with the member.
    const rep2 = await login("rep2@demo.test");
    expect(await errorOf(await as(rep2, "GET", `/api/jobs?sequence_id=${SEQ_REP1}`))).toMatchObject({ status: 404, code: "not_found" });
    const rep1 = await login("rep1@demo.test");
    expect((await as(rep1, "GET", `/api/jobs?sequence_id=${SEQ_REP1}`)).status).toBe(200);
  });

  it("Apollo emailer_messages/search answers 404 for another team's emailer_campaign_ids, as contacts/search does", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const [contact] = await makeContacts(x.teamId, 1);
    const msgId = newId();
    // A sent email of the sequence, as the engine would have recorded it.
    await env.DB.prepare(
      `INSERT INTO messages (id, team_id, enrollment_id, sequence_id, step_id, mailbox_id, contact_id, to_email, subject, body, message_id_header, status, raw, sent_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'x@example.com', 'Hello', 'Body', ?, 'sent', '', 1, 1)`,
    )
      .bind(msgId, x.teamId, newId(), x.sequenceId, x.stepIds[0], x.mailboxIds[0], contact, `<${msgId}@demo.test>`)
      .run();
    const found = async (ids: string[]) =>
      (await json<{ emailer_messages: { id: string }[] }>(await messagesSearch(key, { emailer_campaign_ids: ids }))).emailer_messages.map(
        (m) => m.id,
      );
    expect(await found([x.sequenceId])).toEqual([msgId]);
    expect(await found([x.sequenceId, x.sequenceId])).toEqual([msgId]);

    const other = await addContactsSetup();
    for (const ids of [[other.sequenceId], [x.sequenceId, other.sequenceId], [newId()]]) {
      expect(await errorOf(await messagesSearch(key, { emailer_campaign_ids: ids })), ids.join(",")).toMatchObject({
        status: 404,
        code: "not_found",
      });
    }
  });
});
