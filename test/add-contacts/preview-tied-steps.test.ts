// Two steps at one position (left in D1 by adds that raced before the editor's writes were guarded): the
// preview's missing-variable figures must count them as the two steps the engine runs, in its order
// (position, then id). Numbering steps by position alone gave both the same number, so their variants
// were read as one step's A/B test: a step pausing everyone without the value, tied with one whose
// fallback sends, read as "some variants send" and the preview said nobody would pause.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { client, env, ok } from "../helpers";
import { addContactsSetup, makeContacts } from "../fixtures";

beforeEach(() => resetClock());

describe("the add-contacts preview with two steps at one position", () => {
  it("tells the tied steps apart, numbered in the engine's order", async () => {
    const x = await addContactsSetup({
      steps: [
        { wait: 0, variants: [{ subject: "Hi", body: "About {{company|your team}}" }] },
        { wait: 2, variants: [{ subject: "Again", body: "About {{company}}" }] },
      ],
    });
    const [withFallback, pausing] = x.stepIds as [string, string];
    await env.DB.prepare("UPDATE steps SET position = 1 WHERE id = ?").bind(pausing).run();
    const [c] = await makeContacts(x.teamId, 1);
    await env.DB.prepare("UPDATE contacts SET company = NULL WHERE id = ?").bind(c).run();

    const pv = await ok(
      client(x.s).api.sequences[":id"]["add-contacts"].preview.$post({
        param: { id: x.sequenceId },
        query: {},
        json: { source: { contact_ids: [c!] } },
      }),
    );
    const company = pv.missing_variables.find((m) => m.variable === "company");
    // The engine runs the tie by id: whichever comes first, the step without a fallback pauses the contact.
    const pauseFirst = pausing < withFallback;
    expect(company).toMatchObject({
      count: 1,
      steps: [1, 2],
      pause_steps: [pauseFirst ? 1 : 2],
      pauses: true,
      fallbacks: pauseFirst ? [] : ["your team"],
    });
  });
});
