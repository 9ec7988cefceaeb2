// An archived sequence's steps, variants and settings could still be changed through the API (the
// editor shows it read-only), and archiving it again stamped a new date and a second audit entry.
import { describe, expect, it } from "vitest";
import { makeSequence, makeTeam, sessionFor } from "../fixtures";
import { as, env, errorOf } from "../helpers";

const ARCHIVED = { code: "conflict", message: "This sequence is archived; unarchive it to edit" };

describe("an archived sequence", () => {
  it("refuses step, variant and settings edits (409) and writes nothing", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{}, {}], null, false);
    expect((await as(s, "POST", `/api/sequences/${sequenceId}/archive`)).status).toBeLessThan(300);
    const snapshot = async () => ({
      steps: (
        await env.DB.prepare("SELECT id, position, wait_amount, enabled FROM steps WHERE sequence_id = ? ORDER BY position")
          .bind(sequenceId)
          .all()
      ).results,
      variants: (
        await env.DB.prepare(
          "SELECT v.id, v.label, v.subject FROM step_variants v JOIN steps s ON s.id = v.step_id WHERE s.sequence_id = ? ORDER BY v.id",
        )
          .bind(sequenceId)
          .all()
      ).results,
      seq: await env.DB.prepare("SELECT name, settings FROM sequences WHERE id = ?").bind(sequenceId).first(),
    });
    const before = await snapshot();
    const variant = (before.variants[0] as { id: string }).id;
    const base = `/api/sequences/${sequenceId}`;
    const edits: [string, string, unknown?][] = [
      ["POST", `${base}/steps`, { type: "auto_email", variants: [{ subject: "Hi", body: "Hello" }] }],
      ["PATCH", `${base}/steps/${stepIds[1]}`, { wait_amount: 5 }],
      ["DELETE", `${base}/steps/${stepIds[1]}`],
      ["POST", `${base}/steps/reorder`, { step_ids: [stepIds[1], stepIds[0]] }],
      ["POST", `${base}/steps/${stepIds[0]}/variants`, { subject: "B", body: "Hello" }],
      ["PATCH", `${base}/steps/${stepIds[0]}/variants/${variant}`, { subject: "Changed" }],
      ["PATCH", base, { settings: { finish_on_reply: false } }],
      ["PATCH", base, { name: "Renamed" }],
    ];
    for (const [method, path, body] of edits) {
      const res = await as(s, method, path, body);
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 409 });
      expect(await errorOf(res)).toMatchObject(ARCHIVED);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("archived again keeps its date and writes no second audit entry", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId } = await makeSequence(teamId, userId, [{}], null, false);
    await as(s, "POST", `/api/sequences/${sequenceId}/archive`);
    const at = async () =>
      (await env.DB.prepare("SELECT archived_at FROM sequences WHERE id = ?").bind(sequenceId).first<{ archived_at: number }>())!
        .archived_at;
    const first = await at();
    await env.DB.prepare("UPDATE sequences SET archived_at = archived_at - 1000 WHERE id = ?").bind(sequenceId).run();
    expect((await as(s, "POST", `/api/sequences/${sequenceId}/archive`)).status).toBeLessThan(300);
    expect(await at()).toBe(first - 1000);
    const audits = await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE action = 'sequence.archive' AND target_id = ?")
      .bind(sequenceId)
      .first<{ n: number }>();
    expect(audits!.n).toBe(1);
  });
});
