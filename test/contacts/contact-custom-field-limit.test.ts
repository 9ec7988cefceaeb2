import { describe, expect, it } from "vitest";
import { MAX_CUSTOM_FIELDS } from "../../worker/services/contacts";
import { client, env, errorOf, fieldsOf, ok } from "../helpers";
import { makeContacts, makeTeam, sessionFor } from "../fixtures";

// Custom fields are merged into those a contact has: without a limit per contact, repeated edits of 50 new
// keys each grew one row past D1's row size, and the edit answered 500.

const fields = (from: number, n: number, value = "x".repeat(1000)) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${from + i}`, value]));

describe("custom fields per contact", () => {
  it("edits adding keys stop at the limit with a 422 naming custom_fields; the contact keeps what it had", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const [id] = await makeContacts(teamId, 1);
    const patch = (custom_fields: Record<string, string | null>) =>
      api.contacts[":id"].$patch({ param: { id: id! }, json: { custom_fields } });
    let n = 0;
    for (; n + 50 <= MAX_CUSTOM_FIELDS; n += 50) await ok(patch(fields(n, 50)));
    expect(n).toBe(MAX_CUSTOM_FIELDS);
    // Repeated edits keep answering 422, never 500.
    for (let i = 0; i < 3; i++) {
      const res = await patch(fields(n + i * 50, 50));
      expect(res.status).toBe(422);
      const err = await errorOf(res);
      expect(fieldsOf(err)[0]).toMatchObject({ field: "custom_fields" });
      expect(err.message).toMatch(/at most 100 custom fields/);
    }
    const row = await env.DB.prepare("SELECT (SELECT count(*) FROM json_each(custom_fields)) AS n FROM contacts WHERE id = ?")
      .bind(id)
      .first();
    expect(row).toEqual({ n: MAX_CUSTOM_FIELDS });
    // Changing a field it has, or removing one to make room, still works.
    await ok(patch({ f0: "changed", f1: null, [`f${n}`]: "new" }));
    const after = (await ok(api.contacts[":id"].$get({ param: { id: id! } }))).contact.custom_fields;
    expect(Object.keys(after)).toHaveLength(MAX_CUSTOM_FIELDS);
    expect(after).toMatchObject({ f0: "changed", [`f${n}`]: "new" });
    expect(after.f1).toBeUndefined();
  });

  it("two edits at once can't both pass the limit", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const [id] = await makeContacts(teamId, 1);
    const patch = (custom_fields: Record<string, string | null>) =>
      api.contacts[":id"].$patch({ param: { id: id! }, json: { custom_fields } });
    await ok(patch(fields(0, 50, "v")));
    await ok(patch(fields(50, 20, "v")));
    const answers = await Promise.all([patch(fields(100, 20, "v")), patch(fields(200, 20, "v"))]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 422]);
    const row = await env.DB.prepare("SELECT (SELECT count(*) FROM json_each(custom_fields)) AS n FROM contacts WHERE id = ?")
      .bind(id)
      .first();
    expect(row).toEqual({ n: 90 });
  });
});
