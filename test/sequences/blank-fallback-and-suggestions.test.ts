// A fallback of only spaces ({{first_name| }}, {{first_name|}}) counted as a fallback: a contact with no first
// name was sent "Hi ,". It counts as none now (the email is refused and the contact paused on the step, as with
// no fallback), and saving one warns. A misspelled variable ({{firstname}}) is refused with the name it most
// likely meant. Emails are counted at the transport.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setTransportOverride } from "../../worker/transports";
import { missingValues, renderTemplate, validateTemplate, variableUses } from "../../worker/services/templates";
import { client, env, errorOf, fieldsOf, ok } from "../helpers";
import {
  HOUR,
  SIM_START,
  enroll,
  makeContacts,
  makeMailbox,
  makeSequence,
  makeTeam,
  runUntil,
  sessionFor,
  startSimulation,
} from "../fixtures";

const ctx = { contact: { firstName: "" }, sender: { name: "Sam" }, now: SIM_START, timeZone: "UTC" };

describe("a fallback left empty", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  it("counts as none: the variable is missing, and a fallback of text still counts", () => {
    expect(missingValues("Hi {{first_name| }}, {{first_name|}}", ctx)).toEqual(["first_name"]);
    expect(missingValues("Hi {{first_name|there}}", ctx)).toEqual([]);
    expect(variableUses("{{first_name|  }} {{company|your team}}")).toEqual([
      { name: "first_name", fallback: null },
      { name: "company", fallback: "your team" },
    ]);
    expect(renderTemplate("Hi {{first_name| }},", ctx)).toBe("Hi ,");
  });

  it("saving one warns; a contact with no value gets nothing and is paused, one with a value gets the email", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(teamId, userId, [], null, false);
    const saved = await ok(
      api.sequences[":id"].steps.$post({
        param: { id: sequenceId },
        json: { type: "auto_email", variants: [{ subject: "A note", body: "Hi {{first_name| }}, a short note" }] },
      }),
      201,
    );
    expect(saved.warnings).toEqual([
      { field: "variants.0.body", message: expect.stringContaining("{{first_name| }} has an empty fallback") },
    ]);
    await env.DB.prepare("UPDATE sequences SET active = 1 WHERE id = ?").bind(sequenceId).run();
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const bodies: string[] = [];
    setTransportOverride(mailboxId, { local: true, send: async (e) => (bodies.push(e.raw), { ok: true, response: "counted" }) });
    const [blank, named] = await makeContacts(teamId, 2);
    await env.DB.prepare("UPDATE contacts SET first_name = '' WHERE id = ?").bind(blank).run();
    await enroll(teamId, sequenceId, [blank!, named!], [mailboxId]);
    await runUntil(SIM_START + HOUR);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toContain("Hi First1, a short note");
    const row = await env.DB.prepare("SELECT status, reason FROM enrollments WHERE contact_id = ?").bind(blank).first();
    expect(row).toEqual({ status: "paused", reason: "missing_variables: first_name" });
  });
});

describe("a misspelled variable", () => {
  it("is refused with the nearest known name when one is close, and without a guess otherwise", () => {
    expect(validateTemplate("Hi {{firstname}}", "{{Compnay}} and {{nope}} and {{favorite_color}}")).toEqual([
      { field: "subject", message: "Unknown variable {{firstname}}: did you mean {{first_name}}?" },
      { field: "body", message: "Unknown variable {{Compnay}}: did you mean {{company}}?" },
      { field: "body", message: "Unknown variable {{nope}}" },
      { field: "body", message: "Unknown variable {{favorite_color}}" },
    ]);
  });

  it("the API's 422 says it", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId } = await makeSequence(teamId, userId, [], null, false);
    const res = await api.sequences[":id"].steps.$post({
      param: { id: sequenceId },
      json: { type: "auto_email", variants: [{ subject: "Hi {{frist_name}}", body: "Hello" }] },
    });
    expect(res.status).toBe(422);
    expect(fieldsOf(await errorOf(res)).map(({ field, message }) => ({ field, message }))).toEqual([
      { field: "variants.0.subject", message: "Unknown variable {{frist_name}}: did you mean {{first_name}}?" },
    ]);
    const n = await env.DB.prepare("SELECT count(*) n FROM steps WHERE sequence_id = ?").bind(sequenceId).first<{ n: number }>();
    expect(n!.n).toBe(0);
  });
});
