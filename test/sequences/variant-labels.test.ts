// One letter per variant of a step (migrations/0060: a unique index on step_id, label). The migration
// gives each duplicate left by adds that raced before they were guarded the step's next free letter, so
// it applies to a database that has duplicates; and an add whose letter another add took meanwhile
// answers with the next letter or a clear 409, never a 500.
import { afterEach, describe, expect, it } from "vitest";
import { makeSequence, makeTeam, sessionFor } from "../fixtures";
import { as, env, errorOf } from "../helpers";
import { newId } from "../../worker/lib/ids";

const variantsOf = async (stepId: string) =>
  (
    await env.DB.prepare("SELECT id, label, subject FROM step_variants WHERE step_id = ? ORDER BY created_at, id")
      .bind(stepId)
      .all<{ id: string; label: string; subject: string }>()
  ).results;

describe("migration 0060 on a database with duplicate letters", () => {
  it("gives each later duplicate the step's next free letter, in the order they were added, and leaves other steps alone", async () => {
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0060_"));
    expect(migration?.name).toBe("0060_step_variant_labels_unique.sql");
    const { teamId, userId } = await makeTeam();
    const { stepIds } = await makeSequence(
      teamId,
      userId,
      [
        {},
        {
          variants: [
            { subject: "A", body: "x" },
            { subject: "B", body: "x" },
          ],
        },
      ],
      null,
    );
    // The step's variants as they were before 0060 (its plain index on step_id back, the unique one gone):
    // A twice more and B once more after the first A and B, and a D.
    await env.DB.batch([
      env.DB.prepare("DROP INDEX step_variants_step_label_uq"),
      env.DB.prepare("CREATE INDEX step_variants_step_idx ON step_variants (step_id)"),
      env.DB.prepare("DELETE FROM step_variants WHERE step_id = ?").bind(stepIds[0]),
    ]);
    const seeded = [
      ["A", "first A", 1],
      ["A", "second A", 2],
      ["B", "first B", 3],
      ["A", "third A", 4],
      ["B", "second B", 5],
      ["D", "first D", 6],
    ] as const;
    await env.DB.batch(
      seeded.map(([label, subject, at]) =>
        env.DB.prepare(
          "INSERT INTO step_variants (id, team_id, step_id, label, subject, body, enabled, created_at) VALUES (?, ?, ?, ?, ?, 'x', 1, ?)",
        ).bind(newId(), teamId, stepIds[0], label, subject, at),
      ),
    );
    const other = await variantsOf(stepIds[1]!);

    await env.DB.batch(migration!.queries.map((q) => env.DB.prepare(q)));

    // The first of each letter keeps it; the duplicates take C, E and F (D is taken) in the order they were added.
    expect((await variantsOf(stepIds[0]!)).map((v) => [v.subject, v.label])).toEqual([
      ["first A", "A"],
      ["second A", "C"],
      ["first B", "B"],
      ["third A", "E"],
      ["second B", "F"],
      ["first D", "D"],
    ]);
    expect(await variantsOf(stepIds[1]!)).toEqual(other);
    const indexes = (await env.DB.prepare("PRAGMA index_list(step_variants)").all<{ name: string; unique: number }>()).results;
    // Besides the primary key's own index (sqlite_autoindex_…), the unique one alone.
    expect(indexes.filter((i) => !i.name.startsWith("sqlite_")).map((i) => [i.name, i.unique])).toEqual([
      ["step_variants_step_label_uq", 1],
    ]);
  });
});

type Prepared = { statement: string; all: (this: Prepared) => Promise<unknown> };
const stmtProto = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Prepared;
const all = stmtProto.all;
afterEach(() => {
  stmtProto.all = all;
});

/** Runs `between` before each of the next `times` statements matching `re` that are read with all(). */
function beforeAllRead(re: RegExp, times: number, between: () => Promise<unknown>) {
  let left = times;
  stmtProto.all = async function (this: Prepared) {
    if (left > 0 && re.test(this.statement)) {
      left--;
      await between();
    }
    return all.call(this);
  };
}

/** The letter an add picks now: the step's first free one. */
async function firstFree(stepId: string) {
  const taken = new Set(
    (await env.DB.prepare("SELECT group_concat(label) AS l FROM step_variants WHERE step_id = ?")
      .bind(stepId)
      .first<{ l: string }>())!.l.split(","),
  );
  return Array.from({ length: 10 }, (_, i) => String.fromCharCode(65 + i)).find((l) => !taken.has(l))!;
}

describe("an add whose letter another add took meanwhile", () => {
  it("takes the next free letter (201)", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{}], null, false);
    const url = `/api/sequences/${sequenceId}/steps/${stepIds[0]}/variants`;
    let other = 0;
    // The other add runs whole between this add's pick of B and its INSERT of B.
    beforeAllRead(/insert into step_variants/i, 1, async () => {
      other = (await as(s, "POST", url, { subject: "Other", body: "Hello" })).status;
    });
    const res = await as(s, "POST", url, { subject: "Mine", body: "Hello" });
    expect([other, res.status]).toEqual([201, 201]);
    const letters = (await variantsOf(stepIds[0]!)).map((v) => [v.subject, v.label]);
    expect(letters.sort()).toEqual([
      ["Mine", "C"],
      ["Other", "B"],
      ["Step 1 for {{first_name}}", "A"],
    ]);
  });

  it("answers 409 'The variants changed meanwhile' and writes nothing when its letter is taken every time it picks one", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{}], null, false);
    const stepId = stepIds[0]!;
    let clashes = 0;
    // Before each INSERT, another editor adds the letter this add picked and deletes an earlier variant
    // of theirs, so the step never reaches its cap of 10 and the add never finds its letter free.
    beforeAllRead(/insert into step_variants/i, 20, async () => {
      clashes++;
      const label = await firstFree(stepId);
      await env.DB.batch([
        env.DB.prepare(
          "INSERT INTO step_variants (id, team_id, step_id, label, subject, body, enabled, created_at) VALUES (?, ?, ?, ?, 'Theirs', 'x', 1, ?)",
        ).bind(newId(), teamId, stepId, label, clashes),
        env.DB.prepare(
          "DELETE FROM step_variants WHERE id = (SELECT id FROM step_variants WHERE step_id = ? AND subject = 'Theirs' AND label <> ? ORDER BY created_at LIMIT 1) AND (SELECT count(*) FROM step_variants WHERE step_id = ?) > 3",
        ).bind(stepId, label, stepId),
      ]);
    });
    const res = await as(s, "POST", `/api/sequences/${sequenceId}/steps/${stepId}/variants`, { subject: "Mine", body: "Hello" });
    expect(res.status).toBe(409);
    expect(await errorOf(res)).toMatchObject({ code: "conflict", message: "The variants changed meanwhile; reload and try again" });
    expect(clashes).toBe(11);
    expect((await variantsOf(stepId)).filter((v) => v.subject === "Mine")).toEqual([]);
  });
});
