import { runInDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { signUnsubscribeToken } from "../../worker/services/mime";
import { call, env } from "../helpers";
import {
  DAY,
  enroll,
  makeContacts,
  makeMailbox,
  makeSchedule,
  makeSequence,
  makeTeam,
  runUntil,
  sequenceState,
  SIM_START,
  startSimulation,
} from "../fixtures";

const statusOf = async (sequenceId: string, contactId: string) =>
  (await env.DB.prepare("SELECT status, reason FROM enrollments WHERE sequence_id = ? AND contact_id = ?")
    .bind(sequenceId, contactId)
    .first<{ status: string; reason: string | null }>())!;

describe("one-click unsubscribe", () => {
  beforeEach(() => startSimulation());

  it("finishes the contact's open enrollments in every sequence of the team with reason 'unsubscribed', and no one else's", async () => {
    const { teamId, userId } = await makeTeam();
    const scheduleId = await makeSchedule(teamId);
    const mb = await makeMailbox(teamId, userId);
    const [who, other] = await makeContacts(teamId, 2);
    const a = await makeSequence(teamId, userId, [{ wait: 0 }, { wait: 2 }], scheduleId);
    const b = await makeSequence(teamId, userId, [{ wait: 3 }], scheduleId);
    await enroll(teamId, a.sequenceId, [who!, other!], [mb]);
    await enroll(teamId, b.sequenceId, [who!], [mb]);
    const paused = (await env.DB.prepare("SELECT id FROM enrollments WHERE sequence_id = ? AND contact_id = ?")
      .bind(b.sequenceId, who)
      .first<{ id: string }>())!.id;
    const { sequenceStub } = await import("../../durable-objects/engine");
    await sequenceStub(env, b.sequenceId).transition(b.sequenceId, teamId, [paused], "pause");
    // Another team's contact with the same address keeps going.
    const rival = await makeTeam("Rival");
    const rivalSchedule = await makeSchedule(rival.teamId);
    const rivalMb = await makeMailbox(rival.teamId, rival.userId);
    const email = (await env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(who).first<{ email: string }>())!.email;
    await env.DB.prepare(
      "INSERT INTO contacts (id, team_id, first_name, last_name, email, email_status, score, created_at, updated_at) VALUES ('rival-' || ?, ?, 'R', 'R', ?, 'verified', 50, 0, 0)",
    )
      .bind(who, rival.teamId, email)
      .run();
    const r = await makeSequence(rival.teamId, rival.userId, [{ wait: 0 }], rivalSchedule);
    await enroll(rival.teamId, r.sequenceId, [`rival-${who}`], [rivalMb]);

    const token = await signUnsubscribeToken(env.APP_SECRET!, { teamId, email: email.toUpperCase() });
    const res = await call(`/unsubscribe/${token}`, {
      method: "POST",
      body: "List-Unsubscribe=One-Click",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(res.status).toBe(200);

    expect(await statusOf(a.sequenceId, who!)).toEqual({ status: "finished", reason: "unsubscribed" });
    expect(await statusOf(b.sequenceId, who!)).toEqual({ status: "finished", reason: "unsubscribed" });
    expect((await statusOf(a.sequenceId, other!)).status).toBe("active");
    expect((await statusOf(r.sequenceId, `rival-${who}`)).status).toBe("active");
    // The SequenceDO (the writer of enrollment transitions) agrees and has no timer left for it.
    const state = await sequenceState(a.sequenceId);
    const row = state.enrollments.find((e) => e.contact_id === who)!;
    expect(row.status).toBe("finished");
    expect(state.timers.some((t) => t.enrollment_id === row.id)).toBe(false);

    // A second click changes nothing and still answers the confirmation.
    expect((await call(`/unsubscribe/${token}`, { method: "POST" })).status).toBe(200);
    expect(await statusOf(a.sequenceId, who!)).toEqual({ status: "finished", reason: "unsubscribed" });
  });
});

describe("one-click unsubscribe when part of the app fails", () => {
  beforeEach(() => startSimulation());

  it("sequences that can't be reached don't fail the click: the page says unsubscribed, the address is suppressed, and the runs end when they come due", async () => {
    const { teamId, userId } = await makeTeam();
    const scheduleId = await makeSchedule(teamId);
    const mb = await makeMailbox(teamId, userId);
    const [who] = await makeContacts(teamId, 1);
    const a = await makeSequence(teamId, userId, [{ wait: 1 }], scheduleId);
    const b = await makeSequence(teamId, userId, [{ wait: 1 }], scheduleId);
    await enroll(teamId, a.sequenceId, [who!], [mb]);
    await enroll(teamId, b.sequenceId, [who!], [mb]);
    const email = (await env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(who).first<{ email: string }>())!.email;
    const { sequenceStub } = await import("../../durable-objects/engine");
    const proto = await runInDurableObject(
      sequenceStub(env, a.sequenceId),
      (o) => Object.getPrototypeOf(o) as { transition: (...a: unknown[]) => unknown },
    );
    const transition = proto.transition;
    proto.transition = () => {
      throw new Error("Durable Object overloaded");
    };
    try {
      const token = await signUnsubscribeToken(env.APP_SECRET!, { teamId, email });
      const res = await call(`/unsubscribe/${token}`, {
        method: "POST",
        body: "List-Unsubscribe=One-Click",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/html");
      expect(await res.text()).toMatch(/You(&#39;|')re unsubscribed/);
    } finally {
      proto.transition = transition;
    }
    const suppressed = await env.DB.prepare("SELECT source FROM suppressions WHERE team_id = ? AND email = ?")
      .bind(teamId, email.toLowerCase())
      .first();
    expect(suppressed).toEqual({ source: "one_click" });
    // The runs finish when they next come due: the send-time check reads the suppression.
    expect((await statusOf(a.sequenceId, who!)).status).toBe("active");
    await runUntil(SIM_START + 3 * DAY);
    expect(await statusOf(a.sequenceId, who!)).toMatchObject({ status: "finished" });
    expect(await statusOf(b.sequenceId, who!)).toMatchObject({ status: "finished" });
  });

  it("when the opt-out can't be recorded, the person gets a page saying to try again (503), not the API's JSON error", async () => {
    const { teamId } = await makeTeam();
    const token = await signUnsubscribeToken(env.APP_SECRET!, { teamId, email: "someone@example.test" });
    const proto = Object.getPrototypeOf(env.DB) as { batch: (...a: unknown[]) => unknown };
    const batch = proto.batch;
    proto.batch = () => {
      throw new Error("D1 is unavailable");
    };
    let res: Response;
    try {
      res = await call(`/unsubscribe/${token}`, { method: "POST" });
    } finally {
      proto.batch = batch;
    }
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(await res.text()).toContain("try again");
    // Trying again works.
    expect((await call(`/unsubscribe/${token}`, { method: "POST" })).status).toBe(200);
  });

  it("once the suppression is written, a failure reading the address's runs still answers 'unsubscribed'", async () => {
    const { teamId } = await makeTeam();
    const email = "reader-fails@example.test";
    const token = await signUnsubscribeToken(env.APP_SECRET!, { teamId, email });
    const { db } = await import("../../worker/db/client");
    type Fn = (...a: unknown[]) => unknown;
    const stmt = Object.getPrototypeOf(db(env.DB).$client.prepare("SELECT 1")) as Record<"all" | "raw", Fn>;
    const saved = { all: stmt.all, raw: stmt.raw };
    let failed = 0;
    for (const m of ["all", "raw"] as const)
      stmt[m] = function (this: { statement?: string }, ...args: unknown[]) {
        if (/from "enrollments"/i.test(String(this.statement ?? ""))) {
          failed++;
          throw new Error("D1 overloaded");
        }
        return saved[m].apply(this, args);
      };
    let res: Response;
    try {
      res = await call(`/unsubscribe/${token}`, { method: "POST" });
    } finally {
      Object.assign(stmt, saved);
    }
    expect(failed).toBe(1);
    expect(res.status).toBe(200);
    expect(await env.DB.prepare("SELECT source FROM suppressions WHERE team_id = ? AND email = ?").bind(teamId, email).first()).toEqual({
      source: "one_click",
    });
  });
});

describe("the address links in emails are built on", () => {
  it("is the dev server's locally, and in production must be PUBLIC_URL over https: nothing is composed without it", async () => {
    const { publicUrl } = await import("../../worker/services/secrets");
    const { redirectUriFor } = await import("../../worker/transports/oauth");
    expect(publicUrl({ APP_ENV: "local" })).toBe("http://localhost:8787");
    expect(publicUrl({ APP_ENV: "test", PUBLIC_URL: "http://127.0.0.1:9000/" })).toBe("http://127.0.0.1:9000");
    expect(publicUrl({ APP_ENV: "production", PUBLIC_URL: "https://app.example.com/" })).toBe("https://app.example.com");
    // A deploy without it (or redeployed without it: wrangler drops vars the config doesn't hold)
    // used to send every unsubscribe link to http://localhost:8787.
    expect(() => publicUrl({ APP_ENV: "production" })).toThrow(/PUBLIC_URL/);
    expect(() => publicUrl({ APP_ENV: "production", PUBLIC_URL: "http://app.example.com" })).toThrow(/https/);
    expect(() => redirectUriFor({ ...env, APP_ENV: "production", PUBLIC_URL: undefined }, "google")).toThrow(/PUBLIC_URL/);
  });
});
