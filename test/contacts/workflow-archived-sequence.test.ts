import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { client, ok } from "../helpers";
import { addContactsSetup } from "../fixtures";

beforeEach(() => resetClock());

describe("a workflow whose sequence was archived", () => {
  it("is turned off by its next run, saying why (off_reason sequence_archived), instead of staying on and failing every run", async () => {
    const x = await addContactsSetup({ credits: 100 });
    const api = client(x.s).api;
    const { workflow } = await ok(
      api.workflows.$post({ json: { name: "Directors", sequence_id: x.sequenceId, filters: { seniorities: ["director"] }, active: true } }),
      201,
    );
    await ok(api.sequences[":id"].archive.$post({ param: { id: x.sequenceId } }));
    const { run } = await ok(api.workflows[":id"].run.$post({ param: { id: workflow.id } }));
    expect(run).toMatchObject({ status: "failed", reason: "sequence_archived" });
    const { workflow: after } = await ok(api.workflows[":id"].$get({ param: { id: workflow.id } }));
    expect(after).toMatchObject({ active: false, off_reason: "sequence_archived" });
  });
});
