// The Outbox's Replied filter (status=replied): the emails the contact answered, it or a later one of its run
// (the rows whose Replied badge shows), and its total counted from the team's replies. Re-read against the
// whole list's replied_at; scoped to the team, to what the caller sees and to the other filters; a filter
// naming another team's sequence still answers 404.
import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { countedGet, env } from "../helpers";
import { makeSequence, makeTeam, makeUser, runUntil, sessionFor, startSimulation } from "../fixtures";
import { now } from "../../worker/lib/clock";
import { replyTo, sentFirst } from "./mail";

type Outbox = {
  messages: { id: string; enrollment_id: string; replied_at: number | null }[];
  pagination: { total_entries: number; total_pages: number };
};
type Err = { error: { code: string; message: string } };

const DAY = 86_400_000;

describe("the Outbox's Replied filter", () => {
  beforeEach(() => startSimulation());

  it("lists and counts only the emails answered, of the caller's team, with the other filters", async () => {
    // Three contacts, two emails a day apart, runs that go on after a reply (finish_on_reply off).
    const s = await sentFirst({ n: 3, settings: { finish_on_reply: false } });
    const [a, b, c] = s.sent;
    // a answers the first email before the second goes out; b answers the first after the second went out.
    await handleInbound(env, replyTo(a!));
    await runUntil(now() + 2 * DAY);
    await handleInbound(env, replyTo(b!));
    // c sends an out-of-office: not a reply.
    await handleInbound(
      env,
      replyTo(c!, { extra: "Auto-Submitted: auto-replied\r\n", subject: "Out of office", body: "I'm away, back on 2027-03-09." }),
    );
    // Another team's answered email: never in this team's list or count.
    const t = await sentFirst({ n: 1 });
    await handleInbound(env, replyTo(t.m));

    const get = (cookie: string, q: string) => countedGet<Outbox>(cookie, `/api/messages?${q}`);
    const every = await get(s.session.cookie, "per_page=100");
    expect(every.body.messages).toHaveLength(6);
    const answered = every.body.messages.filter((m) => m.replied_at !== null).map((m) => m.id);
    // a's first, and both of b's (its reply came after its second went out).
    expect(answered).toHaveLength(3);
    expect(new Set(every.body.messages.filter((m) => m.replied_at !== null).map((m) => m.enrollment_id))).toEqual(
      new Set([a!.enrollment_id, b!.enrollment_id]),
    );

    const replied = await get(s.session.cookie, "status=replied&per_page=100");
    expect(replied.status).toBe(200);
    expect(replied.body.messages.map((m) => m.id).sort()).toEqual([...answered].sort());
    expect(replied.body.pagination.total_entries).toBe(3);
    // The count is read from the team's replies (messages_team_replied_idx), then each reply's run: not a
    // subquery per email the team ever sent.
    const counting = replied.count.queries.find((x) => /count\(distinct/i.test(x.sql));
    expect(counting, replied.count.statements.join("\n")).toBeDefined();
    const plan = (
      await env.DB.prepare(`EXPLAIN QUERY PLAN ${counting!.sql}`)
        .bind(...counting!.params)
        .all<{ detail: string }>()
    ).results.map((r) => r.detail);
    expect(plan.find((p) => /^(SCAN|SEARCH) /.test(p))).toMatch(/^SEARCH r USING (COVERING )?INDEX messages_team_replied_idx/);
    expect(plan.join("; ")).toMatch(/SEARCH messages USING INDEX messages_enrollment_step_uq \(enrollment_id=\?\)/);

    // Paged: the count is every page's, each email once (a run with a reply after both emails counts both once).
    const first = await get(s.session.cookie, "status=replied&per_page=2");
    const second = await get(s.session.cookie, "status=replied&per_page=2&page=2");
    expect(first.body.pagination).toMatchObject({ total_entries: 3, total_pages: 2 });
    expect([...first.body.messages, ...second.body.messages].map((m) => m.id).sort()).toEqual([...answered].sort());

    // With the sequence filter (counted, not kept): the same three; the other team sees only its own.
    const bySequence = await get(s.session.cookie, `status=replied&sequence_id=${s.sequenceId}`);
    expect(bySequence.body.pagination.total_entries).toBe(3);
    const theirs = await get(t.session.cookie, "status=replied");
    expect(theirs.body.messages.map((m) => m.id)).toEqual([t.m.id]);
    expect(theirs.body.pagination.total_entries).toBe(1);

    // A member the sequence isn't shared with sees none of its emails, answered or not, nor counts them.
    const member = await sessionFor(s.teamId, await makeUser(s.teamId, "member"));
    const hidden = await get(member.cookie, "status=replied");
    expect(hidden.body.messages).toEqual([]);
    expect(hidden.body.pagination.total_entries).toBe(0);

    // Another team's sequence in the filter: 404, not an empty page.
    const foreign = await makeTeam();
    const foreignSeq = (await makeSequence(foreign.teamId, foreign.userId, [{ wait: 0 }], null, false)).sequenceId;
    const r = await countedGet<Err>(s.session.cookie, `/api/messages?status=replied&sequence_id=${foreignSeq}`);
    expect([r.status, r.body.error?.message]).toEqual([404, "Sequence not found"]);
  });
});
