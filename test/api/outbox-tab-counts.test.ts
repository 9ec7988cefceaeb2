// The Outbox's count ("N emails" above the list) is the number of rows its list pages through, under every status
// the screen offers and every sequence and mailbox filter, for an admin (whose total comes from counts kept by
// triggers), a member a sequence is shared with and a member who sees only their own. A team with sequence emails of
// every status, test emails from three mailboxes, replies to a sequence email and an answer written to
// it: test emails and answers are listed and counted under Any status and their own status, never under Sent (incl.
// bounced), which is the sequences' emails only (README, the Outbox).
import { beforeEach, describe, expect, it } from "vitest";
import { handleInbound } from "../../worker/inbound";
import { now } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { client, countedGet, env, ok } from "../helpers";
import { makeContacts, makeMailbox, makeMessages, makeSequence, makeUser, runUntil, sessionFor, startSimulation } from "../fixtures";
import { replyTo, sentFirst, type Sent } from "../replies/mail";

type Outbox = {
  messages: { id: string; status: string; sequence: { id: string } | null; step_id: string; replied_at: number | null }[];
  pagination: { total_entries: number; total_pages: number };
};

const DAY = 86_400_000;
// The screen's status options (web/src/routes/Outbox.tsx, FILTERS), "" being Any status.
const STATUSES = ["", "sent", "sent_or_bounced", "bounced", "unknown", "failed", "replied"] as const;
const PER_PAGE = 4;

/** Every row the list pages through under `q`, and the count each page answered with (404: the filter isn't the caller's). */
async function pageThrough(cookie: string, q: string) {
  const ids: string[] = [];
  const totals = new Set<number>();
  let rows: Outbox["messages"] = [];
  for (let page = 1; page < 100; page++) {
    const r = await countedGet<Outbox>(cookie, `/api/messages?per_page=${PER_PAGE}&page=${page}${q}`);
    if (r.status === 404 && page === 1) return null;
    expect(r.status, q).toBe(200);
    totals.add(r.body.pagination.total_entries);
    rows = rows.concat(r.body.messages);
    ids.push(...r.body.messages.map((m) => m.id));
    if (r.body.messages.length < PER_PAGE) break;
  }
  return { ids, totals: [...totals], rows };
}

describe("the Outbox's count under each status", () => {
  beforeEach(() => startSimulation());

  it("is the number of rows its list pages through, for every filter and role", async () => {
    // Sequence A (the admin's, two emails a day apart, runs going on after a reply) from the admin's mailbox.
    const s = await sentFirst({ n: 3, settings: { finish_on_reply: false } });
    const { teamId, userId: adminId, mailboxId: adminMb } = s;
    const [a, b] = s.sent as [Sent, Sent, Sent];
    await handleInbound(env, replyTo(a));
    await runUntil(now() + 2 * DAY);
    await handleInbound(env, replyTo(b));
    // A member A is shared with (view), with their own mailbox, and a member who sees only their own.
    const sharedId = await makeUser(teamId, "member", { sequenceId: s.sequenceId, access: "view" });
    const loneId = await makeUser(teamId, "member");
    const memberMb = await makeMailbox(teamId, sharedId);
    const loneMb = await makeMailbox(teamId, loneId);
    // Sequence B, the admin's and shared with no one; sequence C, the member's, sending from their mailbox.
    const B = await makeSequence(teamId, adminId, [{ wait: 0 }], null, false);
    const C = await makeSequence(teamId, sharedId, [{ wait: 0 }], null, false);
    const statuses = ["sent", "bounced", "failed", "unknown", "sent", "scheduled"];
    await makeMessages(teamId, B.sequenceId, B.stepIds[0]!, adminMb, await makeContacts(teamId, 6), (i) => statuses[i]!);
    // B's emails from the lone member's mailbox: theirs to filter by, not theirs to see.
    await makeMessages(teamId, B.sequenceId, B.stepIds[0]!, loneMb, await makeContacts(teamId, 2));
    await makeMessages(teamId, C.sequenceId, C.stepIds[0]!, memberMb, await makeContacts(teamId, 5), (i) => statuses[i + 1]!);
    // An answer the admin wrote to a's reply: an email of a's run with no sequence (step reply:<key>).
    const answerId = newId();
    await env.DB.prepare(
      `INSERT INTO messages (id, team_id, enrollment_id, sequence_id, step_id, mailbox_id, contact_id, to_email, subject, body, message_id_header, status, sent_at, created_at)
       VALUES (?, ?, ?, '', ?, ?, ?, ?, 'Re: hello', 'Tuesday works', ?, 'sent', ?, ?)`,
    )
      .bind(answerId, teamId, a.enrollment_id, `reply:${newId()}`, adminMb, a.contact_id, a.to_email, `<${answerId}@x.test>`, now(), now())
      .run();
    // Test emails ("Send a test", no contact) from the three mailboxes, to their own addresses.
    const admin = await sessionFor(teamId, adminId);
    const shared = await sessionFor(teamId, sharedId);
    const lone = await sessionFor(teamId, loneId);
    for (const [who, mb] of [
      [admin, adminMb],
      [shared, memberMb],
      [lone, loneMb],
    ] as const)
      expect((await ok(client(who).api.mailboxes[":id"].test.$post({ param: { id: mb }, json: { to: `${mb}@sender.test` } }))).ok).toBe(
        true,
      );
    const tests = (
      await env.DB.prepare("SELECT status, contact_id FROM messages WHERE team_id = ? AND step_id LIKE 'test:%'")
        .bind(teamId)
        .all<{ status: string; contact_id: string }>()
    ).results;
    expect(tests.map((t) => [t.status, t.contact_id])).toEqual([
      ["sent", ""],
      ["sent", ""],
      ["sent", ""],
    ]);

    const all = (
      await env.DB.prepare("SELECT id, sequence_id, step_id FROM messages WHERE team_id = ?")
        .bind(teamId)
        .all<{ id: string; sequence_id: string; step_id: string }>()
    ).results;
    // 6 of A (each run's two emails), 8 of B, 5 of C, the answer, 3 tests.
    expect(all.length).toBe(23);

    const checked: string[] = [];
    for (const [who, session] of [
      ["admin", admin],
      ["shared member", shared],
      ["member", lone],
    ] as const)
      for (const seq of ["", s.sequenceId, B.sequenceId, C.sequenceId])
        for (const mb of ["", adminMb, memberMb, loneMb])
          for (const status of STATUSES) {
            const q = `${seq ? `&sequence_id=${seq}` : ""}${mb ? `&mailbox_id=${mb}` : ""}${status ? `&status=${status}` : ""}`;
            const r = await pageThrough(session.cookie, q);
            if (!r) continue;
            const label = `${who}: ${q || "(no filter)"}`;
            // One total on every page, the number of rows the pages held, each row once.
            expect({ label, totals: r.totals }).toEqual({ label, totals: [r.ids.length] });
            expect(new Set(r.ids).size, label).toBe(r.ids.length);
            // And the rows are the status's.
            const fits = (m: Outbox["messages"][number]) =>
              status === "" ||
              (status === "replied"
                ? m.replied_at !== null
                : status === "sent_or_bounced"
                  ? m.sequence !== null && (m.status === "sent" || m.status === "bounced")
                  : m.status === status);
            expect(
              r.rows.filter((m) => !fits(m)),
              label,
            ).toEqual([]);
            checked.push(label);
          }
    // The filters the member sees are checked too, not answered 404: A for the shared member, C (theirs) and their mailbox.
    expect(checked).toContain(`shared member: &sequence_id=${s.sequenceId}&status=replied`);
    expect(checked).toContain(`shared member: &sequence_id=${C.sequenceId}&mailbox_id=${memberMb}&status=failed`);
    expect(checked).toContain(`member: &mailbox_id=${loneMb}&status=sent`);
    // The lone member's whole outbox is their test email: B's emails from their mailbox aren't theirs to see.
    expect((await pageThrough(lone.cookie, ""))!.ids).toHaveLength(1);

    // The rule both follow, seen from the admin's whole outbox: test emails and the answer are listed under Any status
    // and Delivered, not under Sent (incl. bounced).
    const any = (await pageThrough(admin.cookie, ""))!;
    expect(any.ids.length).toBe(all.length);
    const noSequence = all.filter((m) => m.sequence_id === "").map((m) => m.id);
    expect(noSequence).toHaveLength(4);
    expect(any.ids).toEqual(expect.arrayContaining(noSequence));
    expect((await pageThrough(admin.cookie, "&status=sent"))!.ids).toEqual(expect.arrayContaining(noSequence));
    expect((await pageThrough(admin.cookie, "&status=sent_or_bounced"))!.ids.filter((id) => noSequence.includes(id))).toEqual([]);
  });
});
