// A change workflow's run that skipped everyone says why from its job's own reasons, counted, and in a change
// run's terms (no "next runs move on to other people": it has no search); the contact it added names it on their
// timeline.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { runDueWorkflows } from "../../worker/services/workflows";
import { reasonText, runReasonFix } from "../../web/src/routes/workflows/run-reason";
import { client, env, ok } from "../helpers";
import { addContactsSetup, waitForJob } from "../fixtures";

beforeEach(() => resetClock());

describe("a change workflow's runs in words", () => {
  it("counts a skipped run's reasons from its job, and the contact it added names the workflow on their timeline", async () => {
    const x = await addContactsSetup({ credits: 100 });
    const api = client(x.s).api;
    const qualified = `${x.teamId}-qualified`;
    await env.DB.prepare("INSERT INTO contact_stages (id, team_id, name, category, position) VALUES (?, ?, 'Qualified', 'in_progress', 2)")
      .bind(qualified, x.teamId)
      .run();
    const { workflow: wf } = await ok(
      api.workflows.$post({
        json: {
          name: "Qualified → outreach",
          sequence_id: x.sequenceId,
          trigger: { kind: "change", on: ["stage"], filters: { stage_ids: [qualified] } },
        },
      }),
      201,
    );
    await ok(api.workflows[":id"].$patch({ param: { id: wf.id }, json: { active: true } }));
    const { contact } = await ok(
      api.contacts.$post({ json: { first_name: "Ada", last_name: "Lovelace", email: "ada.words@example.test", email_status: "verified" } }),
      201,
    );
    const seq = await env.DB.prepare("SELECT name FROM sequences WHERE id = ?").bind(x.sequenceId).first<{ name: string }>();
    const setStage = (stage_id: string) => ok(api.contacts.stage.$post({ json: { contact_ids: [contact.id], stage_id } }));
    const runs = async () => (await ok(api.workflows[":id"].runs.$get({ param: { id: wf.id }, query: {} }))).runs;

    // The first change adds the contact.
    await setStage(qualified);
    await runDueWorkflows(env);
    const [added] = await runs();
    expect(await waitForJob(added!.job_id!)).toMatchObject({ enrolled: 1 });
    const timeline = await ok(api.contacts[":id"].timeline.$get({ param: { id: contact.id }, query: {} }));
    const event = timeline.events.find((e) => e.kind === "added");
    // Soft: a run missing both fixes reports both failures.
    expect.soft(event).toMatchObject({
      title: `Added to ${seq!.name} by the workflow “Qualified → outreach”`,
      data: { workflow: { id: wf.id, name: "Qualified → outreach" } },
    });

    // Out of the stage and back in: the second run finds them already in the sequence, and skips them.
    await setStage(`${x.teamId}-cold`);
    await setStage(qualified);
    await runDueWorkflows(env);
    const newest = (await runs())[0]!;
    expect(newest.id).not.toBe(added!.id);
    await waitForJob(newest.job_id!);
    const [skipped] = await runs();
    expect.soft(skipped).toMatchObject({
      reason: "all_skipped",
      trigger: { kind: "change" },
      skipped: 1,
      skipped_reasons: [{ reason: "already_in_sequence", label: "Already in this sequence", count: 1 }],
    });
    // The run log's words follow those reasons, and promise no "next people" to a change run.
    expect(reasonText("all_skipped").label).toBe("Everyone found was skipped");
    expect.soft(runReasonFix(skipped!)).toBe("Already in this sequence (1): see the job.");
    expect(runReasonFix({ ...skipped!, reason: "held_back" })).not.toMatch(/next runs|30 days/);
  });
});
