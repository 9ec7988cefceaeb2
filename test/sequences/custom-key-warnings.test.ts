// A step's {{custom.<key>}} is accepted whatever the key (a later import may bring it), so a typo like
// {{custom.compnay}} saved silently and rendered empty for everyone. The save now says which keys no
// contact of the team has, as a warning beside the saved sequence.
import { describe, expect, it } from "vitest";
import { makeContacts, makeSequence, makeTeam, sessionFor } from "../fixtures";
import { client, env, ok } from "../helpers";

async function world() {
  const { teamId, userId } = await makeTeam();
  const api = client(await sessionFor(teamId, userId)).api;
  const [contactId] = await makeContacts(teamId, 2);
  await env.DB.prepare(`UPDATE contacts SET custom_fields = '{"company_size":"50"}' WHERE id = ?`).bind(contactId).run();
  const { sequenceId } = await makeSequence(teamId, userId, [], null, false);
  return { api, sequenceId };
}

describe("custom fields no contact has", () => {
  it("a new step naming one saves, with a warning naming the key and the field", async () => {
    const { api, sequenceId } = await world();
    const res = await ok(
      api.sequences[":id"].steps.$post({
        param: { id: sequenceId },
        json: { type: "auto_email", variants: [{ subject: "For {{custom.company_size}} people", body: "Hi {{custom.compnay|there}}" }] },
      }),
      201,
    );
    expect(res.warnings).toEqual([{ field: "variants.0.body", message: expect.stringContaining("“compnay”") }]);
    expect(res.sequence.steps).toHaveLength(1);
    const n = await env.DB.prepare("SELECT count(*) n FROM steps WHERE sequence_id = ?").bind(sequenceId).first<{ n: number }>();
    expect(n!.n).toBe(1);
  });

  it("a variant added or edited says the same about its own text, and nothing once the keys exist", async () => {
    const { api, sequenceId } = await world();
    const created = await ok(
      api.sequences[":id"].steps.$post({
        param: { id: sequenceId },
        json: { type: "auto_email", variants: [{ subject: "Hi", body: "Hello" }] },
      }),
      201,
    );
    expect(created.warnings).toEqual([]);
    const stepId = created.sequence.steps[0]!.id;
    const added = await ok(
      api.sequences[":id"].steps[":stepId"].variants.$post({
        param: { id: sequenceId, stepId },
        json: { subject: "{{custom.Region}} news", body: "Hello" },
      }),
      201,
    );
    expect(added.warnings).toEqual([{ field: "variant.subject", message: expect.stringContaining("“region”") }]);
    const variantId = added.sequence.steps[0]!.variants.at(-1)!.id;
    const edit = (body: string) =>
      ok(
        api.sequences[":id"].steps[":stepId"].variants[":variantId"].$patch({
          param: { id: sequenceId, stepId, variantId },
          json: { body },
        }),
      );
    expect((await edit("Size: {{custom.company_sise}}")).warnings).toEqual([
      { field: "variant.body", message: expect.stringContaining("“company_sise”") },
    ]);
    expect((await edit("Size: {{custom.company_size}}")).warnings).toEqual([]);
  });
});
