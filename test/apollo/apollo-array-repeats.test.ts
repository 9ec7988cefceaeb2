// Apollo array parameters: a repeated id counts once against the field's maximum (README Limits), and a
// sequence named to be left out (not_emailer_campaign_ids) is checked like one named to be included.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup } from "../fixtures";
import { call } from "../helpers";
import { masterKey } from "./apollo-key";

beforeEach(() => resetClock());

const ids = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${String(i).padStart(6, "0")}`);
const post = (key: string, path: string, body: Record<string, unknown>) =>
  call(`/apollo/api/v1/${path}`, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
type Err = { error: { code: string; message: string; details?: { fields?: { field: string; message: string }[] } } };
const fieldsOf = async (r: Response) => ((await r.json()) as Err).error.details?.fields?.map((f) => [f.field, f.message]);

describe("Apollo arrays: repeats count once against the maximum", () => {
  it("add_contact_ids takes 10,000 ids and a repeat, and refuses 10,001 different ones", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    // A sequence that doesn't exist: a request past the checks of its parameters answers 404 for it.
    const add = (contact_ids: string[]) => post(key, "emailer_campaigns/0f0000000000000000000000/add_contact_ids", { contact_ids });
    const max = ids(10_000, "c");
    expect((await add(max)).status).toBe(404);
    expect((await add([...max, max[0]!, ` ${max[1]} `])).status).toBe(404);
    const over = await add(ids(10_001, "c"));
    expect(over.status).toBe(422);
    expect(await fieldsOf(over)).toEqual([["contact_ids", expect.stringMatching(/10,000/)]]);
  });

  it("emailer_messages/search takes 1,000 contact_ids and a repeat, and emailer_campaign_ids one id x101", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const search = (body: Record<string, unknown>) => post(key, "emailer_messages/search", body);
    const max = ids(1_000, "c");
    expect((await search({ contact_ids: max })).status).toBe(200);
    expect((await search({ contact_ids: [...max, max[999]!] })).status).toBe(200);
    const over = await search({ contact_ids: ids(1_001, "c") });
    expect(over.status).toBe(422);
    expect(await fieldsOf(over)).toEqual([["contact_ids", expect.stringMatching(/1,000/)]]);

    expect((await search({ emailer_campaign_ids: Array(101).fill(x.sequenceId) })).status).toBe(200);
    expect((await search({ not_emailer_campaign_ids: Array(101).fill(x.sequenceId) })).status).toBe(200);
    // 100 different ids pass the count (and are then 404: none is a sequence); 101 are refused for it.
    expect((await search({ emailer_campaign_ids: ids(100, "s") })).status).toBe(404);
    const tooMany = await search({ emailer_campaign_ids: ids(101, "s") });
    expect(tooMany.status).toBe(422);
    expect(await fieldsOf(tooMany)).toEqual([["emailer_campaign_ids", expect.stringMatching(/100/)]]);
  });
});

describe("Apollo emailer_messages/search: not_emailer_campaign_ids is checked like emailer_campaign_ids", () => {
  it("another team's sequence, or one the caller can't see, is a 404 either way", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const rival = await addContactsSetup();
    const search = (body: Record<string, unknown>) => post(key, "emailer_messages/search", body);
    for (const field of ["emailer_campaign_ids", "not_emailer_campaign_ids"]) {
      const r = await search({ [field]: [rival.sequenceId] });
      expect([field, r.status]).toEqual([field, 404]);
      expect(((await r.json()) as Err).error).toEqual({ code: "not_found", message: "Sequence not found" });
      expect([field, (await search({ [field]: [x.sequenceId] })).status]).toEqual([field, 200]);
    }
  });
});
