// A body is read whatever way clients label it, or refused: fetch(url, { body: JSON.stringify(...) })
// sends text/plain;charset=UTF-8, some clients write "Application/JSON". A body left unread made a
// blank contact, or a search of everyone.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup, makeContacts } from "../fixtures";
import { call, env, errorOf } from "../helpers";
import { masterKey } from "./apollo-key";

const BASE = "/apollo/api/v1";
const json = async <T>(r: Response) => (await r.json()) as T;

const contactCount = async (teamId: string) =>
  (await env.DB.prepare("SELECT count(*) n FROM contacts WHERE team_id = ?").bind(teamId).first<{ n: number }>())!.n;

beforeEach(() => resetClock());

describe("Apollo request bodies", () => {
  it("reads a JSON body sent as text/plain (fetch's default for a string) or as Application/JSON", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    // No Content-Type header given: fetch labels a string body text/plain;charset=UTF-8.
    const created = await call(`${BASE}/contacts`, {
      method: "POST",
      headers: { "x-api-key": key },
      body: JSON.stringify({ email: "plain@text.test", first_name: "Plain" }),
    });
    expect(created.status).toBe(200);
    expect((await json<{ contact: { email: string; first_name: string } }>(created)).contact).toMatchObject({
      email: "plain@text.test",
      first_name: "Plain",
    });
    await makeContacts(x.teamId, 3);
    const found = await call(`${BASE}/contacts/search`, {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "Application/JSON; Charset=UTF-8" },
      body: JSON.stringify({ q_keywords: "plain@text.test" }),
    });
    expect((await json<{ contacts: { email: string }[] }>(found)).contacts.map((c) => c.email)).toEqual(["plain@text.test"]);
    // The key itself may travel in such a body.
    const keyed = await call(`${BASE}/contacts/search`, { method: "POST", body: JSON.stringify({ api_key: key, q_keywords: "plain" }) });
    expect(keyed.status).toBe(200);
  });

  it("answers 415 to a non-empty body it can't read, and changes nothing", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    for (const [type, body] of [
      ["text/plain", "email=a@b.test"],
      ["application/xml", "<contact><email>a@b.test</email></contact>"],
      ["TEXT/CSV", "email\na@b.test"],
    ] as const) {
      const err = await errorOf(
        await call(`${BASE}/contacts`, { method: "POST", headers: { "x-api-key": key, "content-type": type }, body }),
      );
      expect(err, type).toMatchObject({ status: 415, code: "unsupported_media_type" });
    }
    expect(await contactCount(x.teamId)).toBe(0);
    // An empty body of any type is no parameters, as before.
    expect(
      (await call(`${BASE}/contacts/search`, { method: "POST", headers: { "x-api-key": key, "content-type": "text/plain" } })).status,
    ).toBe(200);
  });
});
