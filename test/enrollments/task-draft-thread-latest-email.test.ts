// A manual email that replies in the thread is drafted as the reply to the run's latest new email, as the
// send path reads the thread (compose.ts): after "Intro" and "Case study", "Re: Case study". Before, the
// draft took the run's first email ("Re: Intro").
import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { client, ok } from "../helpers";
import { DAY, enroll, makeContacts, makeMailbox, makeSequence, makeTeam, runUntil, sessionFor, startSimulation } from "../fixtures";

describe("a manual same-thread reply's draft", () => {
  beforeEach(() => startSimulation());

  it("replies to the latest email sent as a new one", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(
      teamId,
      userId,
      [
        { wait: 0, variants: [{ subject: "Intro", body: "One" }] },
        { wait: 1, variants: [{ subject: "Case study", body: "Two" }] },
        { type: "manual_email", wait: 1, threadReply: true, variants: [{ subject: "", body: "Following up, {{first_name}}" }] },
      ],
      null,
    );
    const mb = await makeMailbox(teamId, userId, { gapSeconds: 0 });
    await enroll(teamId, sequenceId, await makeContacts(teamId, 1), [mb]);
    await runUntil(now() + 3 * DAY);
    const { tasks } = await ok(api.tasks.$get({ query: { view: "open" } }));
    expect(tasks.map((t) => t.draft)).toEqual([
      { subject: "Re: Case study", body: "Following up, First0", reply_in_thread: true, missing: [] },
    ]);
  });
});
