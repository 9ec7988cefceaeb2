// An import left "saving" with nothing queued (its first part's send failed after the status was
// committed, or the request was cut short between the two) is found and repaired (invariant 10): the
// cron, or saving it again, sends its next part once it has been quiet for SAVING_QUIET_MS.
import { afterEach, describe, expect, it } from "vitest";
import { runCron } from "../../worker/cron";
import { db } from "../../worker/db/client";
import { imports } from "../../worker/db/schema";
import type { Caller } from "../../worker/env";
import { advanceClock, resetClock } from "../../worker/lib/clock";
import { handle } from "../../worker/queue/consumer";
import type { QueueMessage } from "../../worker/queue/messages";
import { SAVING_QUIET_MS, saveImport } from "../../worker/services/imports/imports";
import { eq } from "drizzle-orm";
import { client, env, ok } from "../helpers";
import { addContactsSetup, withQueue } from "../fixtures";

afterEach(() => resetClock());

const tick = { scheduledTime: 0, cron: "* * * * *", noRetry() {} } as ScheduledController;

describe("CSV imports: a save whose part message was lost", () => {
  it("is sent again by the cron after the quiet period, once, and reaches ready with every contact once", async () => {
    const { s, teamId, userId } = await addContactsSetup();
    const csv = "Email,First Name,Last Name\nana@x.io,Ana,A\nbob@x.io,Bob,B\ncy@x.io,Cy,C\n";
    const { import: up } = await ok(client(s).api.imports.$post({ form: { file: new File([csv], "lost.csv") } }), 201);
    const d = db(env.DB);
    const row = (await d.query.imports.findFirst({ where: eq(imports.id, up.id) }))!;
    const caller: Caller = { teamId, userId, role: "admin", via: "session" };

    // The status is committed, then the send fails.
    const sent: QueueMessage[] = [];
    await expect(saveImport(withQueue(sent, { left: 1 }), d, caller, row)).rejects.toThrow(/queue unavailable/);
    const saving = (await d.query.imports.findFirst({ where: eq(imports.id, up.id) }))!;
    expect(saving.status).toBe("saving");
    // Not quiet yet: neither saving again nor the cron sends anything (a message may still be on its way).
    expect((await saveImport(withQueue(sent), d, caller, saving)).status).toBe("saving");
    await runCron(tick, withQueue(sent));
    expect(sent).toEqual([]);

    advanceClock(SAVING_QUIET_MS + 60_000);
    await runCron(tick, withQueue(sent));
    expect(sent).toEqual([{ kind: "import_part", importId: up.id, part: 0, ...row.parts[0]! }]);
    await runCron(tick, withQueue(sent));
    expect(sent, "sent again once per quiet period, not every minute").toHaveLength(1);

    for (const m of sent) await handle(m, withQueue([]), false);
    const done = await env.DB.prepare("SELECT status, saved, created FROM imports WHERE id = ?").bind(up.id).first();
    expect(done).toEqual({ status: "ready", saved: 3, created: 3 });
    const emails = await env.DB.prepare("SELECT email, count(*) n FROM contacts WHERE team_id = ? GROUP BY email ORDER BY email")
      .bind(teamId)
      .all();
    expect(emails.results).toEqual([
      { email: "ana@x.io", n: 1 },
      { email: "bob@x.io", n: 1 },
      { email: "cy@x.io", n: 1 },
    ]);
  });

  it("is sent again when saved again after the quiet period", async () => {
    const { s, teamId, userId } = await addContactsSetup();
    const { import: up } = await ok(client(s).api.imports.$post({ form: { file: new File(["Email\nzed@x.io\n"], "lost.csv") } }), 201);
    const d = db(env.DB);
    const caller: Caller = { teamId, userId, role: "admin", via: "session" };
    const row = (await d.query.imports.findFirst({ where: eq(imports.id, up.id) }))!;
    await expect(saveImport(withQueue([], { left: 1 }), d, caller, row)).rejects.toThrow(/queue unavailable/);
    advanceClock(SAVING_QUIET_MS + 1);
    const sent: QueueMessage[] = [];
    const saving = (await d.query.imports.findFirst({ where: eq(imports.id, up.id) }))!;
    await saveImport(withQueue(sent), d, caller, saving);
    expect(sent).toHaveLength(1);
    for (const m of sent) await handle(m, withQueue([]), false);
    expect(await env.DB.prepare("SELECT status, created FROM imports WHERE id = ?").bind(up.id).first()).toEqual({
      status: "ready",
      created: 1,
    });
  });
  it("waits while another import of the team is saving (started while it was quiet): the two never save at once", async () => {
    const { s, teamId, userId } = await addContactsSetup();
    const d = db(env.DB);
    const caller: Caller = { teamId, userId, role: "admin", via: "session" };
    const csv = "Email,First Name\nshared@x.io,Sam\n";
    const upload = async (name: string) => (await ok(client(s).api.imports.$post({ form: { file: new File([csv], name) } }), 201)).import;
    const a = await upload("a.csv");
    const b = await upload("b.csv");
    // A's first part is lost; once A is quiet, B (the same file, uploaded again) starts saving.
    await expect(
      saveImport(withQueue([], { left: 1 }), d, caller, (await d.query.imports.findFirst({ where: eq(imports.id, a.id) }))!),
    ).rejects.toThrow(/queue unavailable/);
    advanceClock(SAVING_QUIET_MS + 60_000);
    const sentB: QueueMessage[] = [];
    await saveImport(withQueue(sentB), d, caller, (await d.query.imports.findFirst({ where: eq(imports.id, b.id) }))!);
    expect(sentB).toHaveLength(1);
    // While B saves, neither the cron nor saving A again sends A's part.
    const sentA: QueueMessage[] = [];
    await runCron(tick, withQueue(sentA));
    await saveImport(withQueue(sentA), d, caller, (await d.query.imports.findFirst({ where: eq(imports.id, a.id) }))!);
    expect(sentA).toEqual([]);
    // B done, A goes on: the shared address is one contact.
    for (const m of sentB) await handle(m, withQueue([]), false);
    await runCron(tick, withQueue(sentA));
    expect(sentA).toHaveLength(1);
    for (const m of sentA) await handle(m, withQueue([]), false);
    const n = await env.DB.prepare("SELECT count(*) AS n FROM contacts WHERE team_id = ? AND email = 'shared@x.io'").bind(teamId).first();
    expect(n).toEqual({ n: 1 });
  });
  it("a dead-lettered copy of a part that saved since (the cron sent it again) doesn't fail the import; the part still next does", async () => {
    const { s, teamId, userId } = await addContactsSetup();
    const { import: up } = await ok(
      client(s).api.imports.$post({ form: { file: new File(["Email,First Name\nlate@x.io,L\n"], "late.csv") } }),
      201,
    );
    const d = db(env.DB);
    const caller: Caller = { teamId, userId, role: "admin", via: "session" };
    const started: QueueMessage[] = [];
    await saveImport(withQueue(started), d, caller, (await d.query.imports.findFirst({ where: eq(imports.id, up.id) }))!);
    // As if part 0 had saved through the copy the cron sent again, and a part 1 were next.
    await env.DB.prepare("UPDATE imports SET parts_done = 1 WHERE id = ?").bind(up.id).run();
    await handle(started[0]!, withQueue([]), true);
    expect((await d.query.imports.findFirst({ where: eq(imports.id, up.id) }))!.status).toBe("saving");
    await handle({ ...started[0]!, part: 1 } as QueueMessage, withQueue([]), true);
    expect((await d.query.imports.findFirst({ where: eq(imports.id, up.id) }))!).toMatchObject({
      status: "failed",
      error: "Saving stopped at part 2; save again to continue",
    });
  });
});
