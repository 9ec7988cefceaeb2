import { afterEach, describe, expect, it } from "vitest";
import { makeSequence, makeTeam, sessionFor } from "../fixtures";
import { as, env } from "../helpers";

// An email step keeps a variant on, or it sends an empty "(no subject)" email. Two editors at once,
// each turning off (or deleting) a different one of the two variants, must leave one on.

type Stmt = { statement: string };
const stmtProto = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Record<string, (...a: unknown[]) => Promise<unknown>>;
const originals = { raw: stmtProto.raw!, all: stmtProto.all!, first: stmtProto.first!, run: stmtProto.run! };
afterEach(() => Object.assign(stmtProto, originals));

/**
 * Holds each write to step_variants until two requests have reached theirs (or 2 s passed): both
 * requests have then read the variants as they were before either wrote, the race the rule must survive.
 */
function meetAtVariantWrites() {
  // A count each polls, not a promise one resolves for the other: the two requests run in I/O
  // contexts of their own, and one may not settle the other's promise.
  let arrived = 0;
  for (const [name, fn] of Object.entries(originals))
    stmtProto[name] = async function (this: Stmt, ...a: unknown[]) {
      if (/^(update|delete from) "step_variants"/i.test(this.statement.trim())) {
        arrived++;
        for (const until = Date.now() + 2000; arrived < 2 && Date.now() < until;) await new Promise((r) => setTimeout(r, 5));
      }
      return fn.apply(this, a);
    };
}

async function twoVariants() {
  const { teamId, userId } = await makeTeam();
  const s = await sessionFor(teamId, userId);
  const { sequenceId, stepIds } = await makeSequence(
    teamId,
    userId,
    [
      {
        variants: [
          { subject: "A", body: "Body A" },
          { subject: "B", body: "Body B" },
        ],
      },
    ],
    null,
  );
  const stepId = stepIds[0]!;
  const variants = async () =>
    (
      await env.DB.prepare("SELECT id, label, enabled FROM step_variants WHERE step_id = ? ORDER BY label")
        .bind(stepId)
        .all<{ id: string; label: string; enabled: number }>()
    ).results;
  const [a, b] = await variants();
  const path = (v: { id: string }) => `/api/sequences/${sequenceId}/steps/${stepId}/variants/${v.id}`;
  return { s, a: a!, b: b!, path, variants };
}

describe("an email step keeps a variant on under concurrent edits", () => {
  it("two editors turning off A and B at once: one is refused (422), one variant stays on", async () => {
    const { s, a, b, path, variants } = await twoVariants();
    meetAtVariantWrites();
    const answers = await Promise.all([as(s, "PATCH", path(a), { enabled: false }), as(s, "PATCH", path(b), { enabled: false })]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 422]);
    const refused = (await answers.find((r) => r.status === 422)!.json()) as { error: { code: string; message: string } };
    expect(refused.error.code).toBe("validation_failed");
    expect((await variants()).filter((v) => v.enabled === 1)).toHaveLength(1);
  });

  it("two editors deleting A and B at once: one is refused (422), one variant is left, on", async () => {
    const { s, a, b, path, variants } = await twoVariants();
    meetAtVariantWrites();
    const answers = await Promise.all([as(s, "DELETE", path(a)), as(s, "DELETE", path(b))]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 422]);
    const left = await variants();
    expect(left).toHaveLength(1);
    expect(left[0]!.enabled).toBe(1);
  });

  it("one editor turning off A while another deletes B: one is refused, the variant left is on", async () => {
    const { s, a, b, path, variants } = await twoVariants();
    meetAtVariantWrites();
    const answers = await Promise.all([as(s, "PATCH", path(a), { enabled: false }), as(s, "DELETE", path(b))]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 422]);
    expect((await variants()).filter((v) => v.enabled === 1)).toHaveLength(1);
  });

  it("still turns off or deletes a variant while another one is on", async () => {
    const { s, a, b, path, variants } = await twoVariants();
    expect((await as(s, "PATCH", path(a), { enabled: false, subject: "A2" })).status).toBe(200);
    expect((await as(s, "DELETE", path(a))).status).toBe(200);
    expect(await variants()).toEqual([{ id: b.id, label: "B", enabled: 1 }]);
    expect((await as(s, "DELETE", path(b))).status).toBe(422);
  });
});
