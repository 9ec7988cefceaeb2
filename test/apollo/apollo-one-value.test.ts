// What an outside review of the Apollo-compatible API found quietly dropped: a parameter that takes one value
// sent twice (`user_id: [a, b]`, `?title=a&title=b`) was read as its first entry; the date range sent in both
// spellings, or `emailer_message_date_range[min]` twice, kept one; `first_name: null` on an update was "not
// sent" although the README says null clears; and another team's `user_ids` answered 200 with no emails
// instead of 404. Each is now refused naming the field (or, for null, clears the name).
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup, makeContacts, makeMessages, makeTeam, makeUser } from "../fixtures";
import { call, env, errorOf, fieldsOf } from "../helpers";
import { masterKey } from "./apollo-key";

const BASE = "/apollo/api/v1";
const send = (key: string, method: string, path: string, body?: unknown) =>
  call(`${BASE}${path}`, {
    method,
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

beforeEach(() => resetClock());

describe("Apollo parameters that take one value, and ranges given twice", () => {
  it("a list of several where one value is taken is a 422 naming the field, and changes nothing; a list of one is its value", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const [contact] = (await makeContacts(x.teamId, 1)) as [string];
    const titleOf = async () =>
      (await env.DB.prepare("SELECT title FROM contacts WHERE id = ?").bind(contact).first<{ title: string | null }>())!.title;
    const before = await titleOf();

    const twice = await errorOf(await send(key, "PUT", `/contacts/${contact}`, { title: ["CTO", "CEO"] }));
    expect(twice.status).toBe(422);
    expect(fieldsOf(twice).map((f) => f.field)).toEqual(["title"]);
    const inQuery = await errorOf(await send(key, "PUT", `/contacts/${contact}?title=CTO&title=CEO`));
    expect(inQuery.status).toBe(422);
    expect(fieldsOf(inQuery).map((f) => f.field)).toEqual(["title"]);
    expect(await titleOf()).toBe(before);

    const users = await errorOf(
      await send(key, "POST", "/emailer_campaigns/remove_or_stop_contact_ids", {
        emailer_campaign_ids: [x.sequenceId],
        contact_ids: [contact],
        mode: "remove",
        user_id: [x.userId, x.userId],
      }),
    );
    expect(users.status).toBe(422);
    expect(fieldsOf(users).map((f) => f.field)).toEqual(["user_id"]);

    expect((await send(key, "PUT", `/contacts/${contact}`, { title: ["CTO"] })).status).toBe(200);
    expect(await titleOf()).toBe("CTO");
  });

  it("the date range in both spellings, or its min twice, is a 422; one range in either spelling is read", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const contacts = await makeContacts(x.teamId, 1);
    await makeMessages(x.teamId, x.sequenceId, x.stepIds[0]!, x.mailboxIds[0]!, contacts);
    const search = (body: unknown, query = "") => send(key, "POST", `/emailer_messages/search${query}`, body);

    const both = await errorOf(
      await search({ emailer_message_date_range: { min: "2026-01-01" }, emailerMessageDateRange: { min: "2027-01-01" } }),
    );
    expect(both.status).toBe(422);
    expect(fieldsOf(both).map((f) => f.field)).toEqual(["emailerMessageDateRange"]);

    const minTwice = await errorOf(
      await search({}, "?emailer_message_date_range[min]=2026-01-01&emailer_message_date_range[min]=2027-01-01"),
    );
    expect(minTwice.status).toBe(422);
    expect(fieldsOf(minTwice)[0]!.field).toMatch(/^emailer_message_date_range/);

    // The body's range replaces the query's, as any parameter in both does.
    const bodyWins = await search({ emailer_message_date_range: { min: "2000-01-01" } }, "?emailer_message_date_range[min]=2999-01-01");
    expect(bodyWins.status).toBe(200);
    expect(((await bodyWins.json()) as { emailer_messages: unknown[] }).emailer_messages).toHaveLength(1);
    expect((await search({}, "?emailerMessageDateRange[min]=2000-01-01&emailerMessageDateRange[max]=2999-01-01")).status).toBe(200);
  });

  it("another team's user_ids answer 404; the team's own (a disabled user's too) answer their emails", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const contacts = await makeContacts(x.teamId, 1);
    await makeMessages(x.teamId, x.sequenceId, x.stepIds[0]!, x.mailboxIds[0]!, contacts);
    const rival = await makeTeam("Rival");

    const foreign = await errorOf(await send(key, "POST", "/emailer_messages/search", { user_ids: [x.userId, rival.userId] }));
    expect(foreign.status).toBe(404);
    const own = await send(key, "POST", "/emailer_messages/search", { user_ids: [x.userId] });
    expect(own.status).toBe(200);
    const gone = await makeUser(x.teamId);
    await env.DB.prepare("UPDATE users SET disabled_at = 1 WHERE id = ?").bind(gone).run();
    expect((await send(key, "POST", "/emailer_messages/search", { user_ids: [gone] })).status).toBe(200);
  });

  it("first_name and last_name null on an update clear the names, as the README says null clears a contact field", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const [contact] = (await makeContacts(x.teamId, 1)) as [string];
    const res = await send(key, "PUT", `/contacts/${contact}`, { first_name: null, last_name: null, title: "VP Sales" });
    expect(res.status).toBe(200);
    const row = await env.DB.prepare("SELECT first_name, last_name, title FROM contacts WHERE id = ?")
      .bind(contact)
      .first<{ first_name: string; last_name: string; title: string }>();
    expect(row).toEqual({ first_name: "", last_name: "", title: "VP Sales" });
  });
});
