// The demo seed's past replies are inbound emails too (worker/seed/history.ts): the replies inbox, the sequence
// reports and the home screen count the same replies, and correcting a seeded one undoes what it did (re-read
// from D1). The reports read messages.replied_at; the inbox reads inbound_messages: the seed writes both.
import { describe, expect, it } from "vitest";
import { engine } from "../../durable-objects/engine";
import { SEEDED_SEQUENCES } from "../../worker/seed/demo";
import { seedInbound } from "../../worker/seed/inbound";
import { client, env, ok } from "../helpers";
import { DEMO, sessionFor } from "../fixtures";

const DAY = 86_400_000;

describe("the demo seed's past replies", () => {
  it("are in the replies inbox: per sequence as many as its report counts, the home screen's among them; correcting one re-activates its run", async () => {
    // As the dev seed route does: the SequenceDOs take the seeded runs over, then the inbound emails come in.
    for (const [sequenceId, teamId] of SEEDED_SEQUENCES) await engine.sequence(env, sequenceId, teamId).activate();
    await seedInbound(env);
    const api = client(await sessionFor(DEMO.team, DEMO.admin)).api;
    const reported = async (id: string) => (await ok(api.sequences[":id"].report.$get({ param: { id }, query: {} }))).report.totals.replied;
    const inbox = async (id: string) =>
      (await ok(api.replies.$get({ query: { sequence_id: id, classification: "reply", per_page: 1 } }))).pagination.total_entries;

    let replies = 0;
    for (const [id] of SEEDED_SEQUENCES.filter(([, team]) => team === DEMO.team)) {
      const n = await reported(id);
      expect({ id, inbox: await inbox(id) }).toEqual({ id, inbox: n });
      replies += n;
    }
    expect(replies).toBeGreaterThan(5);

    // Every email's counted answer (a reply or an out-of-office) came from an inbound email of that kind.
    const orphans = await env.DB.prepare(
      `SELECT count(*) n FROM messages m WHERE m.team_id = ? AND m.reply_kind IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM inbound_messages i WHERE i.message_id = m.id AND i.classification = m.reply_kind)`,
    )
      .bind(DEMO.team)
      .first<{ n: number }>();
    expect(orphans!.n).toBe(0);

    // The home screen's recent replies are in the inbox, under that contact and sequence.
    const home = (await ok(api.reports.home.$get({ query: {} }))).home;
    expect(home.recent_replies.length).toBeGreaterThan(0);
    for (const r of home.recent_replies) {
      const theirs = await ok(api.replies.$get({ query: { contact_id: r.contact!.id, classification: "reply", per_page: 50 } }));
      expect(theirs.replies.some((x) => x.sequence?.id === r.sequence.id)).toBe(true);
    }

    // Older answers were reviewed; the inbox's "to review" holds only the last few days'.
    const t = Date.now();
    const review = await env.DB.prepare(
      "SELECT sum(reviewed_at IS NOT NULL) reviewed, sum(reviewed_at IS NULL AND received_at < ?) stale FROM inbound_messages WHERE team_id = ?",
    )
      .bind(t - 3 * DAY - DAY, DEMO.team)
      .first<{ reviewed: number; stale: number }>();
    expect(review!.reviewed).toBeGreaterThan(0);
    expect(review!.stale).toBe(0);

    // A seeded reply corrected: its run is active again at the same step, the contact back in its stage, and
    // both counts one fewer.
    const seeded = await env.DB.prepare(
      `SELECT i.id, i.enrollment_id, i.sequence_id, i.contact_id, i.message_id, json_extract(i.effect, '$.stageFrom') stage_from, e.current_step
         FROM inbound_messages i JOIN enrollments e ON e.id = i.enrollment_id
         JOIN contacts c ON c.id = i.contact_id JOIN contact_stages s ON s.id = c.stage_id
        WHERE i.team_id = ? AND i.classification = 'reply' AND i.header_id LIKE '<history-%'
          AND e.status = 'finished' AND e.reason = 'replied' AND s.name = 'Replied' AND json_extract(i.effect, '$.stageFrom') IS NOT NULL
        ORDER BY i.id LIMIT 1`,
    )
      .bind(DEMO.team)
      .first<{
        id: string;
        enrollment_id: string;
        sequence_id: string;
        contact_id: string;
        message_id: string;
        stage_from: string;
        current_step: number;
      }>();
    expect(seeded).not.toBeNull();
    const before = await reported(seeded!.sequence_id);
    await ok(api.replies[":id"].classification.$post({ param: { id: seeded!.id }, json: { classification: "auto_reply" } }));
    expect(
      await env.DB.prepare("SELECT status, reason, current_step FROM enrollments WHERE id = ?").bind(seeded!.enrollment_id).first(),
    ).toMatchObject({ status: "active", current_step: seeded!.current_step });
    expect(await env.DB.prepare("SELECT stage_id FROM contacts WHERE id = ?").bind(seeded!.contact_id).first()).toEqual({
      stage_id: seeded!.stage_from,
    });
    expect(await env.DB.prepare("SELECT reply_kind FROM messages WHERE id = ?").bind(seeded!.message_id).first()).toEqual({
      reply_kind: null,
    });
    expect(await reported(seeded!.sequence_id)).toBe(before - 1);
    expect(await inbox(seeded!.sequence_id)).toBe(before - 1);
  });
});
