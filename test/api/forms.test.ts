import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../worker/lib/crypto";
import { as, call, env, errorOf, fieldsOf, login, type ErrorAnswer } from "../helpers";

/** An answer's body, typed by the caller with the few fields it reads. */
const json = async <T>(r: Response) => (await r.json()) as T;
interface Id {
  id: string;
}
interface StepsOf {
  sequence: { steps: Id[] };
}
const field = (err: ErrorAnswer, name: string) => fieldsOf(err).find((f) => f.field === name);

/** zod's own wording must never reach a person. */
const RAW_ZOD = /Too small|Too big|Invalid input|Invalid option|expected (string|number|array|boolean|object)|>=|<=/;

async function newSequence(s: Awaited<ReturnType<typeof login>>) {
  const res = await as(s, "POST", "/api/sequences", { name: `Forms ${crypto.randomUUID()}` });
  expect(res.status).toBe(201);
  return (await json<{ sequence: Id & { name: string } }>(res)).sequence;
}

describe("validation errors speak to people", () => {
  it("an empty name says the name can't be empty, naming the field in words", async () => {
    const s = await login("admin@demo.test");
    const err = await errorOf(await as(s, "POST", "/api/sequences", { name: "   " }));
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(field(err, "name")).toMatchObject({ label: "Name", message: "Name can't be empty" });
    expect(err.message).toBe("Name can't be empty");
  });

  it("a missing or mistyped field says what is expected, not 'Invalid input'", async () => {
    const s = await login("admin@demo.test");
    const missing = await errorOf(await as(s, "POST", "/api/sequences", {}));
    expect(field(missing, "name")?.message).toBe("Name is required");
    const wrongType = await errorOf(await as(s, "POST", "/api/mailboxes", { email: "x@demo.test", sender_name: "X", daily_limit: "lots" }));
    expect(field(wrongType, "daily_limit")).toMatchObject({ label: "Daily limit", message: "Daily limit must be a number" });
    const notInt = await errorOf(await as(s, "POST", "/api/mailboxes", { email: "x@demo.test", sender_name: "X", daily_limit: 2.5 }));
    expect(field(notInt, "daily_limit")?.message).toBe("Daily limit must be a whole number");
  });

  it("numbers out of range say the limit with its unit, in plain words", async () => {
    const s = await login("admin@demo.test");
    const err = await errorOf(
      await as(s, "POST", "/api/mailboxes", { email: "y@demo.test", sender_name: "Y", daily_limit: 0, min_gap_seconds: 99_999 }),
    );
    expect(field(err, "daily_limit")?.message).toBe("Daily limit must be at least 1");
    expect(field(err, "min_gap_seconds")).toMatchObject({
      label: "Minimum gap between sends",
      message: "Minimum gap between sends can be at most 3,600 seconds",
    });
    expect(err.message).toMatch(/Daily limit must be at least 1/);
  });

  it("choices list the allowed values, formats say what a good value looks like", async () => {
    const s = await login("admin@demo.test");
    const err = await errorOf(await as(s, "POST", "/api/mailboxes", { email: "not-an-address", sender_name: "Z", transport: "pigeon" }));
    expect(field(err, "email")?.message).toBe("Email must be an email address, like name@company.com");
    expect(field(err, "transport")?.message).toMatch(/^Transport must be one of: outbox, smtp, .+ or \w+$/);
    const smtp = await errorOf(
      await as(s, "POST", "/api/mailboxes", {
        email: "smtp@demo.test",
        sender_name: "Z",
        transport: "smtp",
        smtp: { host: "", port: 587, security: "tls" },
      }),
    );
    expect(field(smtp, "smtp.host")).toMatchObject({ label: "SMTP host", message: "SMTP host can't be empty" });
  });

  it("query strings get the same words", async () => {
    const s = await login("admin@demo.test");
    const err = await errorOf(await as(s, "GET", "/api/contacts?per_page=1000"));
    expect(field(err, "per_page")).toMatchObject({ label: "Results per page", message: "Results per page can be at most 100" });
  });

  it("a message a schema wrote itself is kept, with the field's label beside it", async () => {
    const s = await login("admin@demo.test");
    const err = await errorOf(
      await as(s, "POST", "/api/mailboxes", {
        email: "p25@demo.test",
        sender_name: "P",
        transport: "smtp",
        smtp: { host: "mx.demo.test", port: 25, security: "tls" },
      }),
    );
    expect(field(err, "smtp.port")).toMatchObject({ label: "SMTP port" });
    expect(field(err, "smtp.port")?.message).toMatch(/^Port 25 is blocked/);
  });

  it("no error of a batch of bad bodies carries zod's raw wording", async () => {
    const s = await login("admin@demo.test");
    const seq = await newSequence(s);
    const bad: [string, string, unknown][] = [
      ["POST", "/api/sequences", { name: "" }],
      ["POST", "/api/sequences", { name: 5 }],
      ["POST", "/api/sequences", []],
      ["PATCH", `/api/sequences/${seq.id}`, { active: "yes" }],
      ["POST", `/api/sequences/${seq.id}/steps`, { type: "fax", wait_amount: -1 }],
      ["POST", "/api/schedules", { name: "", time_zone: 3, holidays: ["soon"] }],
      ["POST", "/api/workflows", { name: "", sequence_id: seq.id, filters: {}, interval_minutes: 1, max_per_run: 0 }],
      ["POST", "/api/api-keys", { name: "", kind: "root" }],
      ["POST", "/api/lists", { name: "" }],
      ["GET", "/api/sequences?page=0&status=nope", undefined],
    ];
    for (const [method, path, body] of bad) {
      const err = await errorOf(await as(s, method, path, body));
      expect(err.status, `${method} ${path}`).toBe(422);
      expect(err.message, `${method} ${path}`).not.toMatch(RAW_ZOD);
      expect(err.message).not.toBe("Some fields are invalid");
      for (const f of fieldsOf(err)) {
        expect(f.message, `${method} ${path} ${f.field}`).not.toMatch(RAW_ZOD);
        expect(f.label, `${method} ${path} ${f.field}`).toMatch(/^[A-Z][A-Za-z ]+/);
      }
    }
  });
});

describe("every number has a sane maximum", () => {
  it("refuses a wait longer than a year in any unit (a 525,600-day wait), and nothing is written", async () => {
    const s = await login("admin@demo.test");
    const seq = await newSequence(s);
    const add = (body: unknown) => as(s, "POST", `/api/sequences/${seq.id}/steps`, body);
    const days = await errorOf(await add({ type: "task", wait_amount: 525_600, wait_unit: "days" }));
    expect(days).toMatchObject({ status: 422, code: "validation_failed" });
    expect(field(days, "wait_amount")?.message).toBe("Wait can be at most 365 days (a year)");
    expect((await errorOf(await add({ type: "task", wait_amount: 8_761, wait_unit: "hours" }))).status).toBe(422);
    const steps = await env.DB.prepare("SELECT count(*) AS n FROM steps WHERE sequence_id = ?").bind(seq.id).first<{ n: number }>();
    expect(steps?.n).toBe(0);
    expect((await add({ type: "task", wait_amount: 365, wait_unit: "days" })).status).toBe(201);
  });

  it("checks the wait against the stored unit when a change gives only the amount or only the unit", async () => {
    const s = await login("admin@demo.test");
    const seq = await newSequence(s);
    const step = (
      await json<StepsOf>(await as(s, "POST", `/api/sequences/${seq.id}/steps`, { type: "task", wait_amount: 600, wait_unit: "hours" }))
    ).sequence.steps[0]!;
    const toDays = await errorOf(await as(s, "PATCH", `/api/sequences/${seq.id}/steps/${step.id}`, { wait_unit: "days" }));
    expect(field(toDays, "wait_amount")?.message).toBe("Wait can be at most 365 days (a year)");
    expect((await errorOf(await as(s, "PATCH", `/api/sequences/${seq.id}/steps/${step.id}`, { wait_amount: 9_000 }))).status).toBe(422);
    const row = await env.DB.prepare("SELECT wait_amount, wait_unit FROM steps WHERE id = ?").bind(step.id).first();
    expect(row).toEqual({ wait_amount: 600, wait_unit: "hours" });
  });

  it("refuses an hourly limit above the daily limit, on create and on a change of either", async () => {
    const s = await login("admin@demo.test");
    const email = `limits-${crypto.randomUUID().slice(0, 8)}@demo.test`;
    const bad = await errorOf(await as(s, "POST", "/api/mailboxes", { email, sender_name: "L", daily_limit: 10, hourly_limit: 50 }));
    expect(bad).toMatchObject({ status: 422, code: "validation_failed" });
    expect(field(bad, "hourly_limit")?.message).toBe("Hourly limit can't be more than the daily limit (10)");
    const mb = (
      await json<{ mailbox: Id }>(await as(s, "POST", "/api/mailboxes", { email, sender_name: "L", daily_limit: 40, hourly_limit: 20 }))
    ).mailbox;
    expect((await errorOf(await as(s, "PATCH", `/api/mailboxes/${mb.id}`, { daily_limit: 5 }))).status).toBe(422);
    expect((await errorOf(await as(s, "PATCH", `/api/mailboxes/${mb.id}`, { hourly_limit: 41 }))).status).toBe(422);
    const row = await env.DB.prepare("SELECT daily_limit, hourly_limit FROM mailboxes WHERE id = ?").bind(mb.id).first();
    expect(row).toEqual({ daily_limit: 40, hourly_limit: 20 });
  });

  it("pages have a ceiling, and a start time more than a year ahead is refused", async () => {
    const s = await login("admin@demo.test");
    expect(field(await errorOf(await as(s, "GET", "/api/contacts?page=1000001")), "page")?.message).toBe("Page can be at most 10,000");
    const seq = await newSequence(s);
    const far = await errorOf(
      await as(s, "POST", `/api/sequences/${seq.id}/add-contacts/preview`, {
        source: { contact_ids: ["x"] },
        add_at: Date.now() + 400 * 86_400_000,
      }),
    );
    expect(field(far, "add_at")?.message).toBe("Start time can be at most a year from now");
  });
});

describe("every state change has its precondition", () => {
  const activeOf = async (id: string) =>
    (await env.DB.prepare("SELECT active FROM sequences WHERE id = ?").bind(id).first<{ active: number }>())!.active;

  it("won't turn on a sequence with no steps, saying why (422), and it stays off", async () => {
    const s = await login("admin@demo.test");
    const seq = await newSequence(s);
    const err = await errorOf(await as(s, "PATCH", `/api/sequences/${seq.id}`, { active: true }));
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(err.message).toBe("Add a step before turning the sequence on: with no steps, contacts have nothing to go through");
    expect(field(err, "active")?.label).toBe("Active");
    expect(await activeOf(seq.id)).toBe(0);
  });

  it("won't turn on a sequence whose steps are all off", async () => {
    const s = await login("admin@demo.test");
    const seq = await newSequence(s);
    await as(s, "POST", `/api/sequences/${seq.id}/steps`, { type: "task", enabled: false });
    const err = await errorOf(await as(s, "PATCH", `/api/sequences/${seq.id}`, { active: true }));
    expect(err.status).toBe(422);
    expect(err.message).toBe("Turn a step on before turning the sequence on: every step is off");
    // The list says how many steps are on, so a screen can tell before offering the switch.
    const listed = (await json<{ sequences: Id[] }>(await as(s, "GET", `/api/sequences?q=${encodeURIComponent(seq.name)}`))).sequences.find(
      (x) => x.id === seq.id,
    );
    expect(listed).toMatchObject({ steps: 1, steps_on: 0 });
    expect(await activeOf(seq.id)).toBe(0);
    const step = (await json<StepsOf>(await as(s, "GET", `/api/sequences/${seq.id}`))).sequence.steps[0]!;
    await as(s, "PATCH", `/api/sequences/${seq.id}/steps/${step.id}`, { enabled: true });
    expect((await as(s, "PATCH", `/api/sequences/${seq.id}`, { active: true })).status).toBe(200);
    expect(await activeOf(seq.id)).toBe(1);
  });

  it("an active sequence keeps at least one step on: turning off or deleting its last one is refused", async () => {
    const s = await login("admin@demo.test");
    const seq = await newSequence(s);
    const step = (await json<StepsOf>(await as(s, "POST", `/api/sequences/${seq.id}/steps`, { type: "task" }))).sequence.steps[0]!;
    expect((await as(s, "PATCH", `/api/sequences/${seq.id}`, { active: true })).status).toBe(200);
    const off = await errorOf(await as(s, "PATCH", `/api/sequences/${seq.id}/steps/${step.id}`, { enabled: false }));
    expect(off).toMatchObject({ status: 422, message: "An active sequence needs a step on: turn the sequence off first" });
    const del = await errorOf(await as(s, "DELETE", `/api/sequences/${seq.id}/steps/${step.id}`));
    expect(del).toMatchObject({ status: 422, message: "An active sequence needs a step on: turn the sequence off first" });
    const row = await env.DB.prepare("SELECT enabled FROM steps WHERE id = ?").bind(step.id).first<{ enabled: number }>();
    expect(row?.enabled).toBe(1);
    // Off, the same changes are allowed.
    await as(s, "PATCH", `/api/sequences/${seq.id}`, { active: false });
    expect((await as(s, "DELETE", `/api/sequences/${seq.id}/steps/${step.id}`)).status).toBe(200);
  });

  it("won't turn on a workflow whose sequence is off (created on, or switched on later); saved off, it is kept", async () => {
    const s = await login("admin@demo.test");
    const seq = await newSequence(s);
    const on = await errorOf(
      await as(s, "POST", "/api/workflows", { name: "Early", sequence_id: seq.id, filters: { q: "x" }, active: true }),
    );
    expect(on).toMatchObject({
      status: 422,
      code: "validation_failed",
      message: "Turn the sequence on first: a workflow can't add contacts to a sequence that is off",
    });
    expect(field(on, "active")).toBeTruthy();
    const wf = (
      await json<{ workflow: Id }>(
        await as(s, "POST", "/api/workflows", { name: "Early", sequence_id: seq.id, filters: { q: "x" }, active: false }),
      )
    ).workflow;
    expect(wf).toMatchObject({ active: false, sequence_active: false });
    expect((await errorOf(await as(s, "PATCH", `/api/workflows/${wf.id}`, { active: true }))).status).toBe(422);
    const row = await env.DB.prepare("SELECT active FROM workflows WHERE id = ?").bind(wf.id).first<{ active: number }>();
    expect(row?.active).toBe(0);
  });
});

describe("positions have a ceiling too", () => {
  it("refuses a step position past the step cap", async () => {
    const s = await login("admin@demo.test");
    const seq = await newSequence(s);
    const err = await errorOf(await as(s, "POST", `/api/sequences/${seq.id}/steps`, { type: "task", position: 1_000_000 }));
    expect(field(err, "position")?.message).toBe("Position can be at most 50");
  });
});

describe("a schedule that could never send is refused", () => {
  it("needs at least one sending window, on create and on a change", async () => {
    const s = await login("admin@demo.test");
    const name = `Never ${crypto.randomUUID().slice(0, 8)}`;
    const none = await errorOf(await as(s, "POST", "/api/schedules", { name, time_zone: "UTC", windows: { "1": [], "2": [] } }));
    expect(none).toMatchObject({ status: 422, code: "validation_failed" });
    expect(field(none, "windows")?.message).toBe("Add at least one sending window: with none, nothing is ever sent");
    const made = await as(s, "POST", "/api/schedules", { name, time_zone: "UTC", windows: { "1": [["09:00", "17:00"]] } });
    expect(made.status).toBe(201);
    const id = (await json<{ schedule: Id }>(made)).schedule.id;
    expect((await errorOf(await as(s, "PATCH", `/api/schedules/${id}`, { windows: {} }))).status).toBe(422);
    const row = await env.DB.prepare("SELECT windows FROM schedules WHERE id = ?").bind(id).first<{ windows: string }>();
    expect(JSON.parse(row!.windows)).toEqual({ "1": [["09:00", "17:00"]] });
  });
});

describe("the Apollo facade speaks the same words", () => {
  it("a page size over the maximum names the field in words", async () => {
    const s = await login("admin@demo.test");
    const key = `m-${crypto.randomUUID()}`;
    await env.DB.prepare(
      "INSERT INTO api_keys (id, team_id, created_by, name, kind, key_hash, prefix, created_at) VALUES (?, ?, ?, 'forms', 'master', ?, ?, 0)",
    )
      .bind(crypto.randomUUID(), s.teamId, s.userId, await sha256Hex(key), key.slice(0, 9))
      .run();
    const res = await call("/apollo/api/v1/emailer_campaigns/search", {
      method: "POST",
      headers: { "x-api-key": key, "content-type": "application/json" },
      body: JSON.stringify({ per_page: 1000 }),
    });
    const err = await errorOf(res);
    expect(err).toMatchObject({ status: 422, code: "validation_failed", message: "Results per page can be at most 100" });
    expect(field(err, "per_page")?.label).toBe("Results per page");
  });
});
