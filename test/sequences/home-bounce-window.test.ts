// Home's bounce alert says "the last 30 days"; the rollup it reads has whole UTC days, and it took 31 of them.
import { afterEach, describe, expect, it } from "vitest";
import { resetClock, setClock } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { DAY, HOUR, makeMailbox, makeSequence, makeTeam, sessionFor } from "../fixtures";
import { client, env, ok } from "../helpers";

async function emails(teamId: string, sequenceId: string, stepId: string, mailboxId: string, at: number, n: number, status: string) {
  await env.DB.batch(
    Array.from({ length: n }, () =>
      env.DB.prepare(
        "INSERT INTO messages (id, team_id, enrollment_id, sequence_id, step_id, mailbox_id, contact_id, to_email, subject, body, message_id_header, status, sent_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'x@t', 's', 'b', ?, ?, ?, ?)",
      ).bind(newId(), teamId, newId(), sequenceId, stepId, mailboxId, newId(), `<${newId()}@t>`, status, at, at),
    ),
  );
}

describe("Home's bounce alert", () => {
  afterEach(() => resetClock());

  it("counts the emails of the last 30 days, not those of a 31st day before them", async () => {
    const t = Date.UTC(2027, 2, 10, 12);
    setClock(t);
    const { teamId, userId } = await makeTeam("Home bounces");
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{}], null);
    const mb = await makeMailbox(teamId, userId);
    // 30½ days ago: 40 bounced emails, outside the 30 days.
    await emails(teamId, sequenceId, stepIds[0]!, mb, t - 30 * DAY - 12 * HOUR, 40, "bounced");
    // 29½ days ago and today: 40 sent, 10 bounced (20%).
    await emails(teamId, sequenceId, stepIds[0]!, mb, t - 29 * DAY - 12 * HOUR, 30, "sent");
    await emails(teamId, sequenceId, stepIds[0]!, mb, t - HOUR, 10, "sent");
    await emails(teamId, sequenceId, stepIds[0]!, mb, t - HOUR, 10, "bounced");
    const s = await sessionFor(teamId, userId);
    const { home } = await ok(client(s).api.reports.home.$get({ query: {} }));
    expect(home.bounce_window_days).toBe(30);
    expect(home.high_bounce_sequences).toEqual([
      expect.objectContaining({ sequence_id: sequenceId, sent: 50, bounced: 10, bounce_rate: 0.2 }),
    ]);
  });
});
