import { afterEach, describe, expect, it } from "vitest";
import { makeSequence, makeTeam, sessionFor } from "../fixtures";
import { as, env } from "../helpers";

// An active sequence keeps a step on (otherwise its contacts sit in it with nothing to go through). Two
// editors at once, each turning off a different one of its two steps, must leave one on.

type Stmt = { statement: string };
const stmtProto = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Record<string, (...a: unknown[]) => Promise<unknown>>;
const originals = { raw: stmtProto.raw!, all: stmtProto.all!, first: stmtProto.first!, run: stmtProto.run! };
afterEach(() => Object.assign(stmtProto, originals));

/** Holds each UPDATE of steps until two requests have reached theirs (or 2 s passed): both read the steps before either wrote. */
function meetAtStepWrites() {
  let arrived = 0;
  for (const [name, fn] of Object.entries(originals))
    stmtProto[name] = async function (this: Stmt, ...a: unknown[]) {
      if (/^update "steps"/i.test(this.statement.trim())) {
        arrived++;
        for (const until = Date.now() + 2000; arrived < 2 && Date.now() < until;) await new Promise((r) => setTimeout(r, 5));
      }
      return fn.apply(this, a);
    };
}

describe("an active sequence keeps a step on under concurrent edits", () => {
  it("two editors turning off its two steps at once: one is refused (422 on enabled), one step stays on", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 1, unit: "days" }], null);
    await env.DB.prepare("UPDATE sequences SET active = 1 WHERE id = ?").bind(sequenceId).run();
    meetAtStepWrites();
    const path = (id: string) => `/api/sequences/${sequenceId}/steps/${id}`;
    const answers = await Promise.all(stepIds.map((id) => as(s, "PATCH", path(id), { enabled: false })));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 422]);
    const refused = (await answers.find((r) => r.status === 422)!.json()) as {
      error: { code: string; details: { fields: { field: string }[] } };
    };
    expect(refused.error.details.fields[0]!.field).toBe("enabled");
    const on = await env.DB.prepare("SELECT count(*) AS n FROM steps WHERE sequence_id = ? AND enabled = 1")
      .bind(sequenceId)
      .first<{ n: number }>();
    expect(on!.n).toBe(1);
  });
});
