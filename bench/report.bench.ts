import { it } from "vitest";
import { bulkInsertSql, type Row } from "../worker/db/bulk";
import { batchSql, db } from "../worker/db/client";
import { newId } from "../worker/lib/ids";
import { as, env } from "../test/helpers";
import { makeMailbox, makeSequence, makeTeam, sessionFor } from "../test/fixtures";
import { report } from "./report";

const scale = Number((env as unknown as { BENCH_SCALE: string }).BENCH_SCALE);
const ENROLLMENTS = Math.round(100_000 * scale);
const DAY = 86_400_000;

function median(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

it(`sequence report over ${ENROLLMENTS} enrollments and ${3 * ENROLLMENTS} emails`, async () => {
  const { teamId, userId } = await makeTeam("Bench");
  const s = await sessionFor(teamId, userId);
  const { sequenceId, stepIds } = await makeSequence(
    teamId,
    userId,
    [
      {
        variants: [
          { subject: "A", body: "a" },
          { subject: "B", body: "b" },
        ],
      },
      {},
      { type: "call" },
      {},
    ],
    null,
    false,
  );
  const variants = await env.DB.prepare("SELECT id, step_id FROM step_variants WHERE team_id = ? ORDER BY step_id, label")
    .bind(teamId)
    .all<{ id: string; step_id: string }>();
  const variantsOf = (step: string) => variants.results.filter((v) => v.step_id === step).map((v) => v.id);
  const mailboxes = [await makeMailbox(teamId, userId), await makeMailbox(teamId, userId), await makeMailbox(teamId, userId)];
  const start = Date.UTC(2026, 8, 1);
  const emailSteps = [stepIds[0]!, stepIds[1]!, stepIds[3]!];

  // 100,000 contacts, enrollments and three emails each, written in slices of 10,000.
  const d = db(env.DB);
  for (let from = 0; from < ENROLLMENTS; from += 10_000) {
    const contacts: Row[] = [];
    const enrollments: Row[] = [];
    const messages: Row[] = [];
    for (let i = from; i < Math.min(ENROLLMENTS, from + 10_000); i++) {
      const c = `c${String(i).padStart(8, "0")}${newId().slice(0, 8)}`;
      const e = newId();
      const mb = mailboxes[i % 3]!;
      const at = start + (i % 90) * DAY + (i % 600) * 60_000;
      const replied = i % 19 === 0;
      const bounced = i % 97 === 0;
      contacts.push([c, teamId, `F${i}`, `L${i}`, `c${i}@bench.test`, "verified", `${teamId}-cold`, at, at]);
      enrollments.push([
        e,
        teamId,
        sequenceId,
        c,
        mb,
        replied || bounced ? "finished" : i % 5 ? "finished" : "active",
        replied ? 1 : 4,
        replied ? "replied" : bounced ? "bounced" : "completed_all_steps",
        userId,
        at,
        at,
      ]);
      emailSteps.forEach((step, k) => {
        const vs = variantsOf(step);
        messages.push([
          newId(),
          teamId,
          e,
          sequenceId,
          step,
          vs[i % vs.length] ?? null,
          mb,
          c,
          `c${i}@bench.test`,
          "s",
          "b",
          `<sf.${e}.${step}@bench.test>`,
          k === 0 && bounced ? "bounced" : "sent",
          at + k * 3 * DAY,
          k === 0 && replied ? at + DAY : null,
          k === 0 && replied ? "reply" : null,
          at,
        ]);
      });
    }
    await batchSql(d, [
      ...bulkInsertSql(
        "contacts",
        ["id", "team_id", "first_name", "last_name", "email", "email_status", "stage_id", "created_at", "updated_at"],
        contacts,
      ),
      ...bulkInsertSql(
        "enrollments",
        [
          "id",
          "team_id",
          "sequence_id",
          "contact_id",
          "mailbox_id",
          "status",
          "current_step",
          "reason",
          "added_by",
          "created_at",
          "updated_at",
        ],
        enrollments,
      ),
    ]);
    await batchSql(
      d,
      bulkInsertSql(
        "messages",
        [
          "id",
          "team_id",
          "enrollment_id",
          "sequence_id",
          "step_id",
          "variant_id",
          "mailbox_id",
          "contact_id",
          "to_email",
          "subject",
          "body",
          "message_id_header",
          "status",
          "sent_at",
          "replied_at",
          "reply_kind",
          "created_at",
        ],
        messages,
      ),
    );
  }
  await env.DB.prepare("PRAGMA optimize").run();

  const run = async (q = "") => {
    const t0 = performance.now();
    const res = await as(s, "GET", `/api/sequences/${sequenceId}/report${q}`);
    const body = (await res.json()) as { report: { totals: { sent: number } } };
    const ms = Math.max(performance.now() - t0, 0);
    if (res.status !== 200 || body.report.totals.sent === 0) throw new Error(`report: ${res.status}`);
    return ms;
  };
  await run(); // warm the page cache once
  const times: number[] = [];
  for (let i = 0; i < 7; i++) times.push(await run());
  report(`report_${ENROLLMENTS}_enrollments`, median(times), "ms");
  const filtered: number[] = [];
  for (let i = 0; i < 5; i++) filtered.push(await run(`?from=2026-09-15&to=2026-10-15&mailbox_id=${mailboxes[1]}`));
  report(`report_${ENROLLMENTS}_enrollments_filtered`, median(filtered), "ms");
  const team: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const res = await as(s, "GET", "/api/reports/team?from=2026-09-01&to=2026-12-31");
    await res.json();
    team.push(Math.max(performance.now() - t0, 0));
  }
  report("team_report_300000_emails", median(team), "ms");
});
