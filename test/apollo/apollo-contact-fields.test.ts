// Apollo's contact create and update keep what they take (a phone from any of Apollo's phone fields,
// typed_custom_fields as custom fields), refuse what they can't (account_id), and hold every field to
// the native API's limits.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup } from "../fixtures";
import { call, env, errorOf, fieldsOf } from "../helpers";
import { masterKey } from "./apollo-key";

const BASE = "/apollo/api/v1";
const json = async <T>(r: Response) => (await r.json()) as T;

const send = (key: string, method: string, path: string, body: unknown) =>
  call(`${BASE}${path}`, { method, headers: { "x-api-key": key, "content-type": "application/json" }, body: JSON.stringify(body) });

const row = (id: string) =>
  env.DB.prepare("SELECT first_name, phone, domain, custom_fields FROM contacts WHERE id = ?")
    .bind(id)
    .first<Record<string, string | null>>();

beforeEach(() => resetClock());

describe("Apollo contact fields", () => {
  it("keeps a mobile phone and typed_custom_fields, and trims names as the native API does", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const res = await send(key, "POST", "/contacts", {
      first_name: "  Lin  ",
      email: "lin@phone.test",
      mobile_phone: "+1 555 0100",
      website_url: "HTTPS://WWW.Phone.test/about",
      typed_custom_fields: { industry_note: "retail", seats: 40 },
    });
    expect(res.status).toBe(200);
    const { contact } = await json<{ contact: { id: string; phone_numbers: { raw_number: string }[] } }>(res);
    expect(contact.phone_numbers.map((p) => p.raw_number)).toEqual(["+1 555 0100"]);
    expect(await row(contact.id)).toMatchObject({ first_name: "Lin", phone: "+1 555 0100", domain: "phone.test" });
    expect(JSON.parse((await row(contact.id))!.custom_fields!)).toEqual({ industry_note: "retail", seats: "40" });

    const upd = await send(key, "PATCH", `/contacts/${contact.id}`, {
      corporate_phone: "+1 555 0199",
      typed_custom_fields: { seats: null },
    });
    expect(upd.status).toBe(200);
    expect((await row(contact.id))!.phone).toBe("+1 555 0199");
    expect(JSON.parse((await row(contact.id))!.custom_fields!)).toEqual({ industry_note: "retail" });
  });

  it("refuses account_id and values past the native limits, naming Apollo's field, and saves nothing", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    for (const [body, field] of [
      [{ account_id: "5f0c0c0c0c0c0c0c0c0c0c0c" }, "account_id"],
      [{ first_name: "x".repeat(101) }, "first_name"],
      [{ title: "x".repeat(201) }, "title"],
      [{ organization_name: "x".repeat(201) }, "organization_name"],
      [{ mobile_phone: "1".repeat(51) }, "mobile_phone"],
      [{ present_raw_address: "x".repeat(101) }, "present_raw_address"],
      [{ website_url: `${"a".repeat(260)}.test` }, "website_url"],
      [{ typed_custom_fields: { "Bad Key": "x" } }, "typed_custom_fields"],
    ] as const) {
      const err = await errorOf(await send(key, "POST", "/contacts", { email: "limits@x.test", ...body }));
      expect(err, field).toMatchObject({ status: 422, code: "validation_failed" });
      expect(fieldsOf(err)[0]!.field.split(".")[0], field).toBe(field);
    }
    expect((await env.DB.prepare("SELECT count(*) n FROM contacts WHERE team_id = ?").bind(x.teamId).first<{ n: number }>())!.n).toBe(0);
  });
});
