import { describe, expect, it } from "vitest";
import { as, env, errorOf, login, withKey } from "../helpers";

describe("team isolation", () => {
  it("Rival can't read Demo's contact or list by id: 404", async () => {
    const rival = await login("admin@rival.test");
    const demo = await login("admin@demo.test");
    const contact = await env.DB.prepare("select id from contacts where team_id = ? limit 1").bind(demo.teamId).first<any>();
    const list = await env.DB.prepare("select id from lists where team_id = ? limit 1").bind(demo.teamId).first<any>();
    expect((await as(demo, "GET", `/api/contacts/${contact.id}`)).status).toBe(200);
    expect(await errorOf(await as(rival, "GET", `/api/contacts/${contact.id}`))).toMatchObject({ status: 404, code: "not_found" });
    expect((await as(rival, "GET", `/api/lists/${list.id}`)).status).toBe(404);
    expect((await withKey("rival-master-key", "GET", `/api/contacts/${contact.id}`)).status).toBe(404);
  });

  it("lists and searches return only the caller's team", async () => {
    const rival = await login("admin@rival.test");
    const body = (await (await as(rival, "GET", "/api/contacts?per_page=100")).json()) as any;
    const total = await env.DB.prepare("select count(*) n from contacts where team_id = ?").bind(rival.teamId).first<any>();
    expect(body.pagination.total_entries).toBe(total.n);
    const teams = await env.DB.prepare(`select distinct team_id from contacts where id in (${body.contacts.map(() => "?").join(",")})`)
      .bind(...body.contacts.map((c: any) => c.id))
      .all<any>();
    expect(teams.results).toEqual([{ team_id: rival.teamId }]);
    const lists = (await (await as(rival, "GET", "/api/lists")).json()) as any;
    expect(lists.lists.map((l: any) => l.name)).toEqual(["Rival prospects"]);
  });

  it("Rival's keys see Rival's users only", async () => {
    const users = ((await (await withKey("rival-master-key", "GET", "/api/users")).json()) as any).users;
    expect(users.map((u: any) => u.email)).toEqual(["admin@rival.test"]);
  });
});
