// An email whose text uses a variable its contact has no value for, with no fallback, is not sent: "Hi ,"
// never goes out. The contact is paused on that step with a reason naming the fields, shown with the other
// reasons on the sequence's contacts list; once the contact is fixed and resumed, the email goes, written
// with the new value. A step with no variant on (a race the step editor closes) sends nothing either:
// before, it went out as an empty "(no subject)" email. Emails are counted at the transport.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { setTransportOverride } from "../../worker/transports";
import { client, env, ok } from "../helpers";
import {
  DAY,
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

describe("an email using a variable its contact has no value for", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  async function world(subject: string) {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0, variants: [{ subject, body: "A short note" }] }], null);
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    const subjects: string[] = [];
    setTransportOverride(mailboxId, {
      local: true,
      send: async (e) => (subjects.push(/^Subject: (.*)$/m.exec(e.raw)?.[1] ?? "?"), { ok: true, response: "counted" }),
    });
    const [contactId] = await makeContacts(teamId, 1);
    await env.DB.prepare("UPDATE contacts SET first_name = '' WHERE id = ?").bind(contactId).run();
    await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
    await runUntil(SIM_START + HOUR);
    const shown = async () => {
      const { enrollments } = await ok(api.sequences[":id"].enrollments.$get({ param: { id: sequenceId }, query: {} }));
      return enrollments[0]!;
    };
    return { api, sequenceId, stepIds, contactId: contactId!, subjects, shown };
  }

  it("is not sent: the contact is paused saying which field is missing; filled in and resumed, it goes", async () => {
    const w = await world("Hi {{first_name}}");
    expect(w.subjects).toEqual([]);
    const e = await w.shown();
    expect(e).toMatchObject({ status: "paused", reason: "missing_variables: first_name" });
    expect(e.reason_text).toBe("Paused: the email uses first_name, which this contact has no value for (fill them in, then resume)");
    // Nothing happens by itself while it is missing.
    await runUntil(SIM_START + 3 * DAY);
    expect(w.subjects).toEqual([]);

    await ok(w.api.contacts[":id"].$patch({ param: { id: w.contactId }, json: { first_name: "Ann" } }));
    await ok(
      w.api.sequences[":id"].enrollments[":action"].$post({
        param: { id: w.sequenceId, action: "resume" },
        json: { enrollment_ids: [e.id] },
      }),
    );
    await runUntil(SIM_START + 4 * DAY);
    expect(w.subjects).toEqual(["Hi Ann"]);
    expect(await w.shown()).toMatchObject({ status: "finished", reason: "completed_all_steps" });
  });

  it("resumed without a fix: paused again, still not sent", async () => {
    const w = await world("Hi {{first_name}}");
    const e = await w.shown();
    await ok(
      w.api.sequences[":id"].enrollments[":action"].$post({
        param: { id: w.sequenceId, action: "resume" },
        json: { enrollment_ids: [e.id] },
      }),
    );
    await runUntil(SIM_START + 2 * DAY);
    expect(w.subjects).toEqual([]);
    expect(await w.shown()).toMatchObject({ status: "paused", reason: "missing_variables: first_name" });
  });

  it("with a fallback it goes, with the fallback", async () => {
    const w = await world("Hi {{first_name|there}}");
    expect(w.subjects).toEqual(["Hi there"]);
    expect(await w.shown()).toMatchObject({ status: "finished", reason: "completed_all_steps" });
  });
});

describe("an email step with no variant on", () => {
  let mailboxId = "";
  beforeEach(() => startSimulation());
  afterEach(() => setTransportOverride(mailboxId, null));

  it("sends nothing: the contact is paused saying the step has no variant on", async () => {
    const { teamId, userId } = await makeTeam();
    const api = client(await sessionFor(teamId, userId)).api;
    const { sequenceId, stepIds } = await makeSequence(teamId, userId, [{ wait: 0 }], null);
    // The race the editor closes: the step's only variant turned off.
    await env.DB.prepare("UPDATE step_variants SET enabled = 0 WHERE step_id = ?").bind(stepIds[0]).run();
    mailboxId = await makeMailbox(teamId, userId, { daily: 100, hourly: 100, gapSeconds: 0 });
    let sent = 0;
    setTransportOverride(mailboxId, { local: true, send: async () => (sent++, { ok: true, response: "counted" }) });
    const [contactId] = await makeContacts(teamId, 1);
    await enroll(teamId, sequenceId, [contactId!], [mailboxId]);
    await runUntil(SIM_START + DAY);
    expect(sent).toBe(0);
    const { enrollments } = await ok(api.sequences[":id"].enrollments.$get({ param: { id: sequenceId }, query: {} }));
    expect(enrollments[0]).toMatchObject({ status: "paused", reason: "no_variant" });
    expect(enrollments[0]!.reason_text).toMatch(/no variant/);
  });
});
