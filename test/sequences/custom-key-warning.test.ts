// Saving a step whose email names a custom field no contact has is allowed but warned about. The warning says
// what the send does (compose.ts): a use without a fallback pauses every contact lacking the field on the step
// (missing_variables, test/engine/missing-variables); a use with one sends the fallback.
import { describe, expect, it } from "vitest";
import { client, ok } from "../helpers";
import { makeSequence, makeTeam, sessionFor } from "../fixtures";

describe("the unknown custom field warning", () => {
  it("says contacts without the field are paused unless the tag has a fallback, and only then", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ type: "auto_email", wait: 0 }], null);
    const add = (body: string) =>
      ok(
        api.sequences[":id"].steps.$post({
          param: { id: sequenceId },
          json: { type: "auto_email", thread_reply: false, variants: [{ subject: "Hello", body }] },
        }),
        201,
      );

    const bare = await add("Hi, about {{custom.compnay}}");
    expect(bare.warnings).toEqual([
      {
        field: "variants.0.body",
        message:
          "No contact has the custom field “compnay” yet: contacts without custom.compnay are paused on this step unless you add a fallback, e.g. {{custom.compnay|…}}. Check its spelling.",
      },
    ]);

    const withFallback = await add("Hi, about {{custom.compnay|your team}}");
    expect(withFallback.warnings).toHaveLength(1);
    expect(withFallback.warnings[0]!.message).toBe(
      "No contact has the custom field “compnay” yet: {{custom.compnay}} comes out as its fallback until one does. Check its spelling.",
    );
  });

  it("says a manual email's draft has a blank to fill in, since a manual email's contact isn't paused", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(teamId, userId, [{ type: "auto_email", wait: 0 }], null);
    const manual = await ok(
      api.sequences[":id"].steps.$post({
        param: { id: sequenceId },
        json: { type: "manual_email", thread_reply: false, variants: [{ subject: "Hello", body: "About {{custom.compnay}}" }] },
      }),
      201,
    );
    expect(manual.warnings).toEqual([
      {
        field: "variants.0.body",
        message:
          "No contact has the custom field “compnay” yet: the drafts of contacts without custom.compnay have a blank to fill in before they can be sent, unless you add a fallback, e.g. {{custom.compnay|…}}. Check its spelling.",
      },
    ]);
  });
});
