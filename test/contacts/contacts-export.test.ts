import { beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { call, env } from "../helpers";
import { makeContacts, makeList, makeTeam, makeUser, sessionFor, startSimulation } from "../fixtures";

type Session = Awaited<ReturnType<typeof sessionFor>>;

async function exportCsv(s: Session, query = "") {
  return call(`/api/contacts/export${query}`, { headers: { cookie: s.cookie } });
}

/** The file's rows (header first), split on CRLF; ids are the first cell. */
async function rowsOf(res: Response) {
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
  const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(await res.arrayBuffer());
  expect(text.startsWith("\uFEFF")).toBe(true);
  return text
    .slice(1)
    .split("\r\n")
    .filter(Boolean)
    .map((l) => l.split(","));
}
const idsOf = (rows: string[][]) => rows.slice(1).map((r) => r[0]);

describe("GET /contacts/export", () => {
  beforeEach(() => startSimulation());

  const setup = async () => {
    const { teamId, userId } = await makeTeam();
    const member = await makeUser(teamId, "member");
    const ids = await makeContacts(teamId, 4);
    const [a, b, c, gone] = ids as [string, string, string, string];
    await env.DB.prepare("UPDATE contacts SET first_name = '=1+2', owner_id = ? WHERE id = ?").bind(userId, a).run();
    await env.DB.prepare("UPDATE contacts SET deleted_at = ? WHERE id = ?").bind(now(), gone).run();
    const listId = await makeList(teamId, userId, [b, c, gone]);
    const other = await makeTeam("Other");
    const [foreign] = await makeContacts(other.teamId, 1);
    const foreignList = await makeList(other.teamId, other.userId, [foreign!]);
    return { teamId, userId, a, b, c, gone, listId, foreign: foreign!, foreignList, s: await sessionFor(teamId, member) };
  };

  it("a member exports the team's live contacts: deleted ones and another team's are absent; a formula cell is neutralised", async () => {
    const t = await setup();
    const rows = await rowsOf(await exportCsv(t.s));
    expect(rows[0]).toEqual([
      "id",
      "first_name",
      "last_name",
      "email",
      "email_status",
      "title",
      "company",
      "domain",
      "stage",
      "owner_email",
      "created_at",
      "suppressed",
      "suppression_reason",
      "phone",
      "linkedin_url",
      "industry",
      "city",
      "country",
      "time_zone",
      "score",
      "unsubscribed_at",
      "bounced_at",
    ]);
    expect(idsOf(rows).sort()).toEqual([t.a, t.b, t.c].sort());
    const a = rows.find((r) => r[0] === t.a)!;
    expect(a[1]).toBe("'=1+2");
    const owner = await env.DB.prepare("SELECT email FROM users WHERE id = ?").bind(t.userId).first<{ email: string }>();
    expect(a[9]).toBe(owner!.email);
  });

  it("honours the search and the list filter; a list of another team is a 404", async () => {
    const t = await setup();
    const email = (await env.DB.prepare("SELECT email FROM contacts WHERE id = ?").bind(t.b).first<{ email: string }>())!.email;
    expect(idsOf(await rowsOf(await exportCsv(t.s, `?q=${encodeURIComponent(email)}`)))).toEqual([t.b]);
    expect(idsOf(await rowsOf(await exportCsv(t.s, `?list_id=${t.listId}`))).sort()).toEqual([t.b, t.c].sort());
    const foreign = await exportCsv(t.s, `?list_id=${t.foreignList}`);
    expect(foreign.status).toBe(404);
    expect(((await foreign.json()) as { error: { code: string } }).error.code).toBe("not_found");
  });

  it("reads past one page of 500: every matching contact once", async () => {
    const t = await setup();
    await makeContacts(t.teamId, 600);
    const ids = idsOf(await rowsOf(await exportCsv(t.s)));
    expect(ids).toHaveLength(603);
    expect(new Set(ids).size).toBe(603);
  });

  it("refuses more than 100,000 matching contacts up front with 413 export_too_large, and a narrower filter still exports", async () => {
    const t = await setup();
    // 100,001 contacts in one statement (a recursive count), more than one export takes.
    await env.DB.prepare(
      `INSERT INTO contacts (id, team_id, first_name, last_name, company, email_status, score, created_at, updated_at)
       WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100001)
       SELECT 'bulk-' || i, ?, 'Bulk', 'Row', 'Bulkco', 'unavailable', 0, ?, ? FROM n`,
    )
      .bind(t.teamId, now(), now())
      .run();
    const res = await exportCsv(t.s);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: "export_too_large", details: { matching: 100_004, max: 100_000 } } });
    expect(idsOf(await rowsOf(await exportCsv(t.s, `?list_id=${t.listId}`))).sort()).toEqual([t.b, t.c].sort());
  });
});
