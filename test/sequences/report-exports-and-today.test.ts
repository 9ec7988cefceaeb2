import { afterEach, describe, expect, it } from "vitest";
import { newId } from "../../worker/lib/ids";
import { resetClock, setClock } from "../../worker/lib/clock";
import { client, env, ok } from "../helpers";
import { makeContacts, makeSequence, makeTeam, sessionFor } from "../fixtures";

describe("CSV exports", () => {
  it("start with a UTF-8 byte order mark (without it Excel on Windows shows Müller as MÃ¼ller), and the A/B file says delivered", async () => {
    const { teamId, userId } = await makeTeam("Exports");
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(
      teamId,
      userId,
      [
        {
          variants: [
            { subject: "A", body: "a" },
            { subject: "B", body: "b" },
          ],
        },
      ],
      null,
      false,
    );
    const [c] = await makeContacts(teamId, 1);
    await env.DB.prepare("UPDATE contacts SET last_name = 'Müller' WHERE id = ?").bind(c).run();
    await env.DB.prepare(
      "INSERT INTO enrollments (id, team_id, sequence_id, contact_id, status, current_step, created_at, updated_at) VALUES (?, ?, ?, ?, 'active', 1, 1, 1)",
    )
      .bind(newId(), teamId, sequenceId, c)
      .run();
    const param = { id: sequenceId };
    const files = [
      await api.sequences[":id"].contacts.export.$get({ param }),
      await api.sequences[":id"].report.export.$get({ param, query: { part: "ab_tests" } }),
      await api.reports.team.export.$get({ query: { by: "users" } }),
    ];
    const texts: string[] = [];
    for (const res of files) {
      const bytes = new Uint8Array(await res.arrayBuffer());
      expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
      texts.push(new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes.slice(3)));
    }
    expect(texts[0]).toContain("Müller");
    expect(texts[1]!.split("\r\n")[0]).toBe(
      "step,variant,enabled,delivered,replies,reply_rate_pct,ci_low_pct,ci_high_pct,p_value,significant,verdict",
    );
  });
});

describe("home dashboard: today", () => {
  afterEach(() => resetClock());

  it("is the viewer's local day in their IANA zone, right across a DST change", async () => {
    const { teamId, userId } = await makeTeam("Today");
    // 23:30 on Sunday 14 March 2027 in New York, the day clocks went forward (EDT, UTC−4 since 02:00 local).
    setClock(Date.UTC(2027, 2, 15, 3, 30));
    const task = (dueAt: number) =>
      env.DB.prepare(
        "INSERT INTO tasks (id, team_id, contact_id, assignee_id, type, due_at, status, created_at) VALUES (?, ?, ?, ?, 'call', ?, 'open', 1)",
      ).bind(newId(), teamId, newId(), userId, dueAt);
    await env.DB.batch([
      // 23:30 EST on the 13th: yesterday there (a fixed offset of −4 h would call it today).
      task(Date.UTC(2027, 2, 14, 4, 30)),
      // 08:00 EDT on the 14th: today there (yesterday in UTC).
      task(Date.UTC(2027, 2, 14, 12, 0)),
    ]);
    const api = client(await sessionFor(teamId, userId)).api;
    const { home } = await ok(api.reports.home.$get({ query: { time_zone: "America/New_York" } }));
    expect(home.tasks).toEqual({ overdue: 1, due_today: 1 });
  });
});
