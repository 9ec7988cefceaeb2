// The facade's searches apply every parameter they take or refuse it (422 naming it): a filter dropped
// in silence would answer with more than was asked, and a stat that matches nothing here would answer
// "no emails" when there are some.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup, makeContacts, makeMailbox, makeMessages, makeSequence, makeUser } from "../fixtures";
import { call, errorOf, fieldsOf } from "../helpers";
import { masterKey } from "./apollo-key";

const BASE = "/apollo/api/v1";
const json = async <T>(r: Response) => (await r.json()) as T;

const post = (key: string, path: string, body: unknown) =>
  call(`${BASE}${path}`, { method: "POST", headers: { "x-api-key": key, "content-type": "application/json" }, body: JSON.stringify(body) });

interface Messages {
  emailer_messages: { id: string; status: string; emailer_campaign_id: string }[];
  pagination: { total_entries: number };
}

beforeEach(() => resetClock());

describe("Apollo emailer_messages/search", () => {
  it("maps Apollo's stats and filters (delivered, not_emailer_campaign_ids, user_ids) and answers a sent email as completed", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const [a1, a2, a3, b1] = await makeContacts(x.teamId, 4);
    const colleague = await makeUser(x.teamId, "member");
    const theirMailbox = await makeMailbox(x.teamId, colleague, {});
    const { sequenceId: other, stepIds } = await makeSequence(x.teamId, colleague, [{ wait: 0 }], x.scheduleId);
    const mine = await makeMessages(x.teamId, x.sequenceId, x.stepIds[0]!, x.mailboxIds[0]!, [a1!, a2!, a3!], (i) =>
      i === 2 ? "bounced" : "sent",
    );
    const theirs = await makeMessages(x.teamId, other, stepIds[0]!, theirMailbox, [b1!]);

    const delivered = await json<Messages>(await post(key, "/emailer_messages/search", { emailer_message_stats: ["delivered"] }));
    expect(delivered.emailer_messages.map((m) => m.id).sort()).toEqual([mine[0], mine[1], theirs[0]].sort());
    expect(new Set(delivered.emailer_messages.map((m) => m.status))).toEqual(new Set(["completed"]));

    const notOther = await json<Messages>(await post(key, "/emailer_messages/search", { not_emailer_campaign_ids: [other] }));
    expect(notOther.emailer_messages.map((m) => m.id).sort()).toEqual([...mine].sort());

    const byUser = await json<Messages>(await post(key, "/emailer_messages/search", { user_ids: [colleague] }));
    expect(byUser.emailer_messages.map((m) => m.id)).toEqual(theirs);
  });

  it("refuses a stat it doesn't track and a parameter it can't apply, naming them", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const [c] = await makeContacts(x.teamId, 1);
    await makeMessages(x.teamId, x.sequenceId, x.stepIds[0]!, x.mailboxIds[0]!, [c!]);
    for (const stat of ["opened", "clicked", "not_opened", "unsubscribed", "spam_blocked", "drafted"]) {
      const err = await errorOf(await post(key, "/emailer_messages/search", { emailer_message_stats: [stat] }));
      expect(err, stat).toMatchObject({ status: 422, code: "validation_failed" });
      expect(fieldsOf(err)[0]!.field).toBe("emailer_message_stats");
    }
    for (const param of ["emailer_message_reply_classes", "q_keywords", "emailerMessageDateRange"]) {
      const err = await errorOf(await post(key, "/emailer_messages/search", { [param]: param === "q_keywords" ? "x" : ["x"] }));
      expect(err, param).toMatchObject({ status: 422, code: "validation_failed" });
      expect(fieldsOf(err).map((f) => f.field)).toEqual([param]);
    }
  });
});

describe("Apollo tasks, users and sequence searches", () => {
  it("refuse parameters they can't apply instead of answering everything", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    for (const [path, body, field] of [
      ["/tasks/search", { sort_by_field: "task_priority" }, "sort_by_field"],
      ["/tasks/search", { task_types: ["call"] }, "task_types"],
      ["/users/search", { user_ids: ["x"] }, "user_ids"],
      ["/emailer_campaigns/search", { label_ids: ["x"] }, "label_ids"],
    ] as const) {
      const err = await errorOf(await post(key, path, body));
      expect(err, `${path} ${field}`).toMatchObject({ status: 422, code: "validation_failed" });
      expect(fieldsOf(err)[0]!.field).toBe(field);
    }
    expect((await post(key, "/tasks/search", { sort_by_field: "task_due_at", open_factor_names: ["task_types"] })).status).toBe(200);
  });
});
