// Email templates (/api/email-templates): saved subjects and bodies a rep inserts into steps. Private to their
// owner or shared with the team; their owner or an admin changes them; a standard key only reads; their text
// is checked as a step's is (an unknown variable is refused with a "did you mean", an unknown custom field warns).
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { makeTeam, makeUser, sessionFor } from "../fixtures";
import { as, client, env, errorOf, fieldsOf, ok, withKey, type Session } from "../helpers";

interface Template {
  id: string;
  name: string;
  subject: string;
  body: string;
  shared: boolean;
  owner_id: string;
  can_manage: boolean;
}
interface Saved {
  template: Template;
  warnings: { field: string; message: string }[];
}
interface Page {
  templates: Template[];
  pagination: { page: number; per_page: number; total_entries: number; total_pages: number };
}

const rowOf = (id: string) =>
  env.DB.prepare("SELECT team_id, owner_id, name, subject, body, shared FROM email_templates WHERE id = ?").bind(id).first();

async function create(s: Session, t: Record<string, unknown>): Promise<Saved> {
  const res = await as(s, "POST", "/api/email-templates", t);
  expect(res.status, JSON.stringify(await res.clone().json())).toBe(201);
  return res.json();
}
const list = async (auth: Session | string, query = ""): Promise<Page> => {
  const res =
    typeof auth === "string"
      ? await withKey(auth, "GET", `/api/email-templates${query}`)
      : await as(auth, "GET", `/api/email-templates${query}`);
  expect(res.status).toBe(200);
  return res.json();
};

async function keyOf(s: Session, kind: "master" | "standard") {
  return (await ok(client(s).api["api-keys"].$post({ json: { name: `t ${kind}`, kind } }), 201)).key;
}

async function team() {
  const { teamId, userId } = await makeTeam();
  const admin = await sessionFor(teamId, userId);
  const m1 = await makeUser(teamId, "member");
  const m2 = await makeUser(teamId, "member");
  return { teamId, adminId: userId, admin, m1Id: m1, m1: await sessionFor(teamId, m1), m2Id: m2, m2: await sessionFor(teamId, m2) };
}

beforeEach(() => resetClock());

describe("email templates", () => {
  it("are created, read, changed and deleted, each as the stored row says", async () => {
    const t = await team();
    const made = await create(t.m1, { name: "  Intro  ", subject: "Hi {{first_name}}", body: "Hello {{first_name|there}},\n\nA note." });
    expect(made.warnings).toEqual([]);
    expect(made.template).toMatchObject({ name: "Intro", shared: false, owner_id: t.m1Id, can_manage: true });
    const owner = await env.DB.prepare("SELECT name FROM users WHERE id = ?").bind(t.m1Id).first<{ name: string }>();
    expect((made.template as Template & { owner_name: string }).owner_name).toBe(owner!.name);
    expect(await rowOf(made.template.id)).toEqual({
      team_id: t.teamId,
      owner_id: t.m1Id,
      name: "Intro",
      subject: "Hi {{first_name}}",
      body: "Hello {{first_name|there}},\n\nA note.",
      shared: 0,
    });

    const got = await as(t.m1, "GET", `/api/email-templates/${made.template.id}`);
    expect(((await got.json()) as { template: Template }).template.body).toBe("Hello {{first_name|there}},\n\nA note.");

    // A PATCH changes only what it names: the subject and body stay.
    const patched = await as(t.m1, "PATCH", `/api/email-templates/${made.template.id}`, { name: "Intro v2", shared: true });
    expect(patched.status).toBe(200);
    expect(await rowOf(made.template.id)).toMatchObject({ name: "Intro v2", shared: 1, subject: "Hi {{first_name}}" });

    const del = await as(t.m1, "DELETE", `/api/email-templates/${made.template.id}`);
    expect(del.status).toBe(200);
    expect(await rowOf(made.template.id)).toBeNull();
    expect((await errorOf(await as(t.m1, "GET", `/api/email-templates/${made.template.id}`))).status).toBe(404);
    const audit = await env.DB.prepare("SELECT action FROM audit_log WHERE target_id = ? ORDER BY created_at, action")
      .bind(made.template.id)
      .all<{ action: string }>();
    expect(audit.results.map((r) => r.action).sort()).toEqual(["email_template.create", "email_template.delete", "email_template.update"]);
  });

  it("are seen shared or one's own; only the owner or an admin changes one; a standard key reads; another team's is 404", async () => {
    const t = await team();
    const mine = (await create(t.m1, { name: "m1 private", body: "a" })).template;
    const shared = (await create(t.m1, { name: "m1 shared", body: "b", shared: true })).template;
    const other = (await create(t.m2, { name: "m2 private", body: "c" })).template;

    // m2 sees the shared one and their own, not m1's private one (404, not 403: it isn't theirs to know of).
    expect((await list(t.m2)).templates.map((x) => x.name)).toEqual(["m1 shared", "m2 private"]);
    expect((await errorOf(await as(t.m2, "GET", `/api/email-templates/${mine.id}`))).status).toBe(404);
    expect((await errorOf(await as(t.m2, "PATCH", `/api/email-templates/${mine.id}`, { name: "x" }))).status).toBe(404);

    // A member can't change or delete a shared template of another; the row stays as it was.
    const seen = (await list(t.m2)).templates.find((x) => x.id === shared.id)!;
    expect(seen.can_manage).toBe(false);
    const refused = await errorOf(await as(t.m2, "PATCH", `/api/email-templates/${shared.id}`, { body: "changed" }));
    expect(refused.status).toBe(403);
    expect((await errorOf(await as(t.m2, "DELETE", `/api/email-templates/${shared.id}`))).status).toBe(403);
    expect(await rowOf(shared.id)).toMatchObject({ body: "b", name: "m1 shared" });
    // Their own they change.
    expect((await as(t.m2, "PATCH", `/api/email-templates/${other.id}`, { body: "c2" })).status).toBe(200);
    expect(await rowOf(other.id)).toMatchObject({ body: "c2" });

    // An admin changes a shared one, but another's private one stays private.
    expect((await list(t.admin)).templates.map((x) => x.name)).toEqual(["m1 shared"]);
    expect((await as(t.admin, "PATCH", `/api/email-templates/${shared.id}`, { body: "by admin" })).status).toBe(200);
    expect(await rowOf(shared.id)).toMatchObject({ body: "by admin" });

    // A standard key (the admin's) reads, but writes nothing.
    const standard = await keyOf(t.admin, "standard");
    expect((await list(standard)).templates.map((x) => x.id)).toEqual([shared.id]);
    expect((await withKey(standard, "GET", `/api/email-templates/${shared.id}`)).status).toBe(200);
    const before = await env.DB.prepare("SELECT count(*) AS n FROM email_templates WHERE team_id = ?")
      .bind(t.teamId)
      .first<{ n: number }>();
    expect((await errorOf(await withKey(standard, "POST", "/api/email-templates", { name: "k", body: "k" }))).status).toBe(403);
    expect((await errorOf(await withKey(standard, "PATCH", `/api/email-templates/${shared.id}`, { body: "k" }))).status).toBe(403);
    expect((await errorOf(await withKey(standard, "DELETE", `/api/email-templates/${shared.id}`))).status).toBe(403);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM email_templates WHERE team_id = ?").bind(t.teamId).first()).toEqual(before);
    expect(await rowOf(shared.id)).toMatchObject({ body: "by admin" });
    // A master key writes, as an admin.
    const master = await keyOf(t.admin, "master");
    expect((await withKey(master, "POST", "/api/email-templates", { name: "by key", body: "k", shared: true })).status).toBe(201);

    // Another team's admin finds none of them, shared or not, and changes nothing.
    const rival = await team();
    expect((await list(rival.admin)).templates).toEqual([]);
    for (const id of [shared.id, mine.id]) {
      expect((await errorOf(await as(rival.admin, "GET", `/api/email-templates/${id}`))).status).toBe(404);
      expect((await errorOf(await as(rival.admin, "PATCH", `/api/email-templates/${id}`, { body: "x" }))).status).toBe(404);
      expect((await errorOf(await as(rival.admin, "DELETE", `/api/email-templates/${id}`))).status).toBe(404);
    }
    expect(await rowOf(shared.id)).toMatchObject({ body: "by admin" });
    expect(await rowOf(mine.id)).toMatchObject({ body: "a" });
  });

  it("refuse what a step would refuse, naming the field, and store nothing", async () => {
    const t = await team();
    const refused = async (body: Record<string, unknown>, field: string) => {
      const err = await errorOf(await as(t.m1, "POST", "/api/email-templates", body));
      expect(err.status).toBe(422);
      expect(fieldsOf(err).map((f) => f.field)).toContain(field);
      return fieldsOf(err).find((f) => f.field === field)!.message;
    };
    await refused({ name: "x".repeat(201), body: "b" }, "name");
    await refused({ name: "   ", body: "b" }, "name");
    await refused({ name: "n", subject: "s".repeat(301), body: "b" }, "subject");
    await refused({ name: "n", body: "b".repeat(20_001) }, "body");
    await refused({ name: "n", body: "  \n " }, "body");
    await refused({ name: "n", subject: "two\nlines", body: "b" }, "subject");
    expect(await refused({ name: "n", body: "Hi {{frist_name}}" }, "body")).toBe(
      "Unknown variable {{frist_name}}: did you mean {{first_name}}?",
    );
    // At the limits, it saves.
    const atMax = await create(t.m1, { name: "x".repeat(200), subject: "s".repeat(300), body: "b".repeat(20_000) });
    expect(((await rowOf(atMax.template.id)) as { body: string }).body.length).toBe(20_000);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM email_templates WHERE team_id = ?").bind(t.teamId).first())!.n).toBe(1);

    // A PATCH is checked as the template ends up, and leaves it as it was when refused.
    const err = await errorOf(await as(t.m1, "PATCH", `/api/email-templates/${atMax.template.id}`, { subject: "Hi {{compnay}}" }));
    expect(fieldsOf(err).find((f) => f.field === "subject")!.message).toBe("Unknown variable {{compnay}}: did you mean {{company}}?");
    expect(await rowOf(atMax.template.id)).toMatchObject({ subject: "s".repeat(300) });
  });

  it("warn, as a step's save does, about a custom field no contact has and an empty fallback", async () => {
    const t = await team();
    const saved = await create(t.m1, { name: "w", subject: "Hi {{first_name| }}", body: "About {{custom.nosuchfield}}" });
    expect(saved.warnings.map((w) => w.field).sort()).toEqual(["body", "subject"]);
    expect(saved.warnings.find((w) => w.field === "body")!.message).toContain("No contact has the custom field “nosuchfield” yet");
    expect(saved.warnings.find((w) => w.field === "subject")!.message).toContain("{{first_name| }} has an empty fallback");
    expect(await rowOf(saved.template.id)).toMatchObject({ body: "About {{custom.nosuchfield}}" });
  });

  it("page by name at per_page 100; 101 is refused", async () => {
    const t = await team();
    const stmt = env.DB.prepare(
      "INSERT INTO email_templates (id, team_id, owner_id, name, subject, body, shared, created_at, updated_at) VALUES (?, ?, ?, ?, '', 'b', ?, 0, 0)",
    );
    // 101 the member sees (their own and shared ones), and one private to someone else that no page shows.
    await env.DB.batch([
      ...Array.from({ length: 101 }, (_, i) =>
        stmt.bind(newId(), t.teamId, i % 2 ? t.m1Id : t.m2Id, `T ${String(i).padStart(3, "0")}`, i % 2 ? 0 : 1),
      ),
      stmt.bind(newId(), t.teamId, t.m2Id, "T private", 0),
    ]);
    const first = await list(t.m1, "?per_page=100");
    expect(first.templates).toHaveLength(100);
    expect(first.pagination).toEqual({ page: 1, per_page: 100, total_entries: 101, total_pages: 2 });
    expect(first.templates[0]!.name).toBe("T 000");
    const second = await list(t.m1, "?per_page=100&page=2");
    expect(second.templates.map((x) => x.name)).toEqual(["T 100"]);
    const names = new Set([...first.templates, ...second.templates].map((x) => x.name));
    expect(names.size).toBe(101);
    expect(names.has("T private")).toBe(false);

    const err = await errorOf(await as(t.m1, "GET", "/api/email-templates?per_page=101"));
    expect(err.status).toBe(422);
    expect(fieldsOf(err).map((f) => f.field)).toEqual(["per_page"]);

    // The search narrows by name.
    expect((await list(t.m1, "?q=t%2010")).templates.map((x) => x.name)).toEqual(["T 100"]);
  });
});
