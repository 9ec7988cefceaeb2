// A POST whose JSON body is optional takes an empty body sent with Content-Type: application/json as no
// options ({}): many clients send that header on every POST, and these answered 400 invalid_json.
import { describe, expect, it } from "vitest";
import { as, call, env, errorOf, login, type Session } from "../helpers";

/** A POST with the JSON Content-Type and `body` exactly as given (none: empty). */
const post = (s: Session, path: string, body = "") =>
  call(path, { method: "POST", headers: { cookie: s.cookie, "x-csrf-token": s.csrf, "content-type": "application/json" }, body });

describe("optional JSON bodies", () => {
  it("an empty body with Content-Type: application/json reads as no options", async () => {
    const s = await login("admin@demo.test");
    const seq = await env.DB.prepare("SELECT id, name FROM sequences WHERE team_id = ? AND archived_at IS NULL LIMIT 1")
      .bind(s.teamId)
      .first<{ id: string; name: string }>();
    const clone = await post(s, `/api/sequences/${seq!.id}/clone`);
    expect(clone.status).toBe(201);
    expect(((await clone.json()) as { sequence: { name: string } }).sequence.name).toContain(seq!.name);

    const contact = await env.DB.prepare("SELECT id FROM contacts WHERE team_id = ? AND deleted_at IS NULL LIMIT 1")
      .bind(s.teamId)
      .first<{ id: string }>();
    const booked = await post(s, `/api/contacts/${contact!.id}/meeting-booked`);
    expect(booked.status).toBeLessThan(300);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM meetings WHERE contact_id = ?").bind(contact!.id).first()).toEqual({ n: 1 });

    const task = await env.DB.prepare("SELECT id FROM tasks WHERE team_id = ? AND status = 'open' LIMIT 1")
      .bind(s.teamId)
      .first<{ id: string }>();
    const done = await post(s, `/api/tasks/${task!.id}/skip`, "  ");
    expect(done.status).toBe(200);
    expect(await env.DB.prepare("SELECT status FROM tasks WHERE id = ?").bind(task!.id).first()).toEqual({ status: "skipped" });
  });

  it("a body that is not JSON is still a 400, and an empty one where a body is required still refused", async () => {
    const s = await login("admin@demo.test");
    const seq = await env.DB.prepare("SELECT id FROM sequences WHERE team_id = ? LIMIT 1").bind(s.teamId).first<{ id: string }>();
    const bad = await post(s, `/api/sequences/${seq!.id}/clone`, "{name:");
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).code).toBe("invalid_json");
    const required = await post(s, "/api/lists");
    expect(required.status).toBe(400);
    expect((await as(s, "POST", "/api/lists", { name: `optional body ${Date.now()}` })).status).toBe(201);
  });
});
