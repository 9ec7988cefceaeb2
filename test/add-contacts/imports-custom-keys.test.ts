// Two columns kept as custom fields whose headers make one key ("Région" and "Region" → region): the
// second silently overwrote the first on every contact. Each column now has its own key (region_2).
import { describe, expect, it } from "vitest";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup } from "../fixtures";

describe("CSV imports: custom field keys", () => {
  it("gives two headers with one key distinct keys, in the preview and on the saved contact", async () => {
    const { s, teamId } = await addContactsSetup();
    const api = client(s).api;
    const csv = "Email,Région,Region,Region 2\nana@x.io,Nord,South,Third\n";
    const { import: up } = await ok(api.imports.$post({ form: { file: new File([csv], "regions.csv") } }), 201);
    const { import: imp } = await ok(
      api.imports[":id"].$patch({ param: { id: up.id }, json: { mapping: ["email", "custom_field", "custom_field", "custom_field"] } }),
    );
    expect(imp.custom_keys).toEqual([null, "region", "region_3", "region_2"]);
    expect(imp.sample[0]!.contact!.custom_fields).toEqual({ region: "Nord", region_3: "South", region_2: "Third" });
    expect((await savedImport(s, up.id)).status).toBe("ready");
    const row = await env.DB.prepare("SELECT custom_fields FROM contacts WHERE team_id = ?")
      .bind(teamId)
      .first<{ custom_fields: string }>();
    expect(JSON.parse(row!.custom_fields)).toEqual({ region: "Nord", region_3: "South", region_2: "Third" });
  });
});
