import { describe, expect, it } from "vitest";
import { client, env, errorOf, login, ok } from "../helpers";

describe("team isolation", () => {
  it("Rival can't read Demo's contact or list by id: 404", async () => {
    const rival = client(await login("admin@rival.test")).api;
    const demoSession = await login("admin@demo.test");
    const demo = client(demoSession).api;
    const contact = await env.DB.prepare("select id from contacts where team_id = ? limit 1")
      .bind(demoSession.teamId)
      .first<{ id: string }>();
    const list = await env.DB.prepare("select id from lists where team_id = ? limit 1").bind(demoSession.teamId).first<{ id: string }>();
    const param = { id: contact!.id };
    expect((await demo.contacts[":id"].$get({ param })).status).toBe(200);
    expect(await errorOf(await rival.contacts[":id"].$get({ param }))).toMatchObject({ status: 404, code: "not_found" });
    expect((await rival.lists[":id"].$get({ param: { id: list!.id } })).status).toBe(404);
    expect((await client({ apiKey: "rival-master-key" }).api.contacts[":id"].$get({ param })).status).toBe(404);
  });

  it("lists and searches return only the caller's team", async () => {
    const session = await login("admin@rival.test");
    const rival = client(session).api;
    const body = await ok(rival.contacts.$get({ query: { per_page: "100" } }));
    const total = await env.DB.prepare("select count(*) n from contacts where team_id = ?").bind(session.teamId).first<{ n: number }>();
    expect(body.pagination.total_entries).toBe(total!.n);
    const teams = await env.DB.prepare("select distinct team_id from contacts where id in (select value from json_each(?))")
      .bind(JSON.stringify(body.contacts.map((c) => c.id)))
      .all<{ team_id: string }>();
    expect(teams.results).toEqual([{ team_id: session.teamId }]);
    const { lists } = await ok(rival.lists.$get({ query: {} }));
    expect(lists.map((l) => l.name)).toEqual(["Rival prospects"]);
  });

  it("Rival's keys see Rival's users only", async () => {
    const { users } = await ok(client({ apiKey: "rival-master-key" }).api.users.$get({ query: {} }));
    expect(users.map((u) => u.email)).toEqual(["admin@rival.test"]);
  });
});
