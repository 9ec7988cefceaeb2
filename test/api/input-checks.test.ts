// Input an outside review found accepted and kept, though it could never work or would mislead: each is
// now a 422 naming the field in words, and nothing is written.
import { describe, expect, it } from "vitest";
import { webAddress } from "../../worker/lib/web-address";
import { MAX_IMPORT_COLUMNS } from "../../worker/services/imports/csv";
import { as, client, env, errorOf, fieldsOf, login } from "../helpers";

const problems = async (res: Response) => {
  const err = await errorOf(res);
  return { status: err.status, fields: fieldsOf(err).map(({ field, label, message }) => ({ field, label, message })) };
};

describe("input checks", () => {
  it("a schedule's holidays are days that exist", async () => {
    const s = await login("admin@demo.test");
    const schedule = (holidays: string[]) =>
      as(s, "POST", "/api/schedules", { name: `H ${holidays.join()}`, time_zone: "UTC", windows: { "1": [["09:00", "17:00"]] }, holidays });
    for (const day of ["2026-13-45", "2026-02-30", "0000-00-00", "2026-04-31"]) {
      const res = await schedule(["2026-12-25", day]);
      expect(await problems(res)).toEqual({
        status: 422,
        fields: [
          { field: "holidays.1", label: "Holidays (item 2)", message: "Not a day in the calendar: use YYYY-MM-DD, such as 2026-12-25" },
        ],
      });
    }
    expect((await schedule(["2028-02-29", "2026-12-25"])).status).toBe(201);
    const n = await env.DB.prepare("SELECT count(*) AS n FROM schedules WHERE name LIKE 'H %'").first<{ n: number }>();
    expect(n!.n).toBe(1);
  });

  it("a LinkedIn address is a web address: a javascript: URL is refused", async () => {
    const s = await login("admin@demo.test");
    for (const url of ["javascript:alert(1)", "data:text/html,hi"]) {
      const res = await as(s, "POST", "/api/contacts", { email: `li-${url.length}@example.com`, linkedin_url: url });
      expect(await problems(res)).toEqual({
        status: 422,
        fields: [{ field: "linkedin_url", label: "LinkedIn URL", message: "Use a web address that starts with http:// or https://" }],
      });
    }
    expect(
      (await as(s, "POST", "/api/contacts", { email: "li-ok@example.com", linkedin_url: "https://www.linkedin.com/in/ok" })).status,
    ).toBe(201);
    // Apollo's clients send it with or without its scheme: test/apollo/apollo.test.ts.
  });

  it("a web address from a CSV cell or an Apollo client: https when it has no scheme, none when it can't be a link", () => {
    expect(
      [
        "linkedin.com/in/x",
        "HTTP://www.linkedin.com/in/y",
        "linkedin.com:443/in/z",
        "javascript:alert(1)",
        "data:text/html,x",
        "ftp://x.org",
        "mailto:x",
        "  ",
        "a b",
      ].map(webAddress),
    ).toEqual([
      "https://linkedin.com/in/x",
      "HTTP://www.linkedin.com/in/y",
      "https://linkedin.com:443/in/z",
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
  });

  it("a meeting's time is one a date can hold", async () => {
    const s = await login("admin@demo.test");
    const contact = (await env.DB.prepare(
      "SELECT c.id FROM contacts c JOIN teams t ON t.id = c.team_id JOIN users u ON u.team_id = t.id WHERE u.email = 'admin@demo.test' AND c.deleted_at IS NULL LIMIT 1",
    ).first<{ id: string }>())!.id;
    for (const at of [9_007_199_254_740_991, 8_640_000_000_000_001]) {
      const res = await as(s, "POST", `/api/contacts/${contact}/meeting-booked`, { booked_at: at });
      const p = await problems(res);
      expect(p.status).toBe(422);
      expect(p.fields[0]!.field).toBe("booked_at");
    }
    const meetings = await env.DB.prepare("SELECT count(*) AS n FROM meetings WHERE contact_id = ?").bind(contact).first<{ n: number }>();
    expect(meetings!.n).toBe(0);
  });

  it(`a CSV file of more than ${MAX_IMPORT_COLUMNS} columns is refused at upload, saying why, not after it can't be mapped`, async () => {
    const s = await login("admin@demo.test");
    const wide = (n: number) =>
      `${Array.from({ length: n }, (_, i) => (i ? `c${i}` : "email")).join(",")}\nx@example.com${",v".repeat(n - 1)}\n`;
    const up = (n: number) => client(s).api.imports.$post({ form: { file: new File([wide(n)], "wide.csv", { type: "text/csv" }) } });
    const refused = await errorOf(await up(MAX_IMPORT_COLUMNS + 1));
    expect(refused).toMatchObject({
      status: 422,
      code: "invalid_file",
      message: `This file has 501 columns; a file can have at most ${MAX_IMPORT_COLUMNS}`,
    });
    expect((await up(MAX_IMPORT_COLUMNS)).status).toBe(201);
  });

  it("a people filter we don't know is refused, not dropped (a workflow or an add from a search would take everyone)", async () => {
    const s = await login("admin@demo.test");
    const search = await as(s, "POST", "/api/people/search", { employees_min: 5, titles: ["CEO"] });
    expect(await problems(search)).toEqual({
      status: 422,
      fields: [{ field: "(body)", label: "Request body", message: "Request body has fields we don't know: employees_min" }],
    });
  });

  it("a score range that holds no score is refused wherever people are searched, not answered with no one", async () => {
    const s = await login("admin@demo.test");
    const refused = { field: "score_min", label: "Lowest score", message: "The lowest score can't be above the highest score" };
    const search = await as(s, "POST", "/api/people/search", { score_min: 80, score_max: 20 });
    expect(await problems(search)).toEqual({ status: 422, fields: [refused] });
    const workflows = async () => (await env.DB.prepare("SELECT count(*) AS n FROM workflows").first<{ n: number }>())!.n;
    const before = await workflows();
    const workflow = await as(s, "POST", "/api/workflows", {
      name: "Empty range",
      sequence_id: "0a0000000000000000000001",
      filters: { titles: ["CEO"], score_min: 90, score_max: 10 },
    });
    expect(await problems(workflow)).toEqual({ status: 422, fields: [{ ...refused, field: "filters.score_min" }] });
    expect(await workflows()).toBe(before);
    const made = await as(s, "POST", "/api/workflows", {
      name: "A real range",
      sequence_id: "0a0000000000000000000001",
      filters: { titles: ["CEO"], score_min: 10, score_max: 90 },
    });
    expect(made.status).toBe(201);
    const saved = ((await made.json()) as { workflow: { id: string } }).workflow;
    const patch = await as(s, "PATCH", `/api/workflows/${saved.id}`, { filters: { score_min: 95, score_max: 5 } });
    expect(await problems(patch)).toEqual({ status: 422, fields: [{ ...refused, field: "filters.score_min" }] });
    const kept = await env.DB.prepare("SELECT filters FROM workflows WHERE id = ?").bind(saved.id).first<{ filters: string }>();
    expect(JSON.parse(kept!.filters)).toMatchObject({ score_min: 10, score_max: 90 });
    const add = await as(s, "POST", "/api/sequences/0a0000000000000000000001/add-contacts/preview", {
      source: { search: { score_min: 51, score_max: 50 } },
    });
    expect((await problems(add)).fields).toEqual([expect.objectContaining({ field: "source.search.score_min", message: refused.message })]);
    const jobs = async () => (await env.DB.prepare("SELECT count(*) AS n FROM jobs").first<{ n: number }>())!.n;
    const jobsBefore = await jobs();
    const commit = await as(s, "POST", "/api/sequences/0a0000000000000000000001/add-contacts", {
      source: { search: { titles: ["CEO"], score_min: 51, score_max: 50 } },
    });
    expect((await problems(commit)).fields).toEqual([expect.objectContaining({ field: "source.search.score_min" })]);
    expect(await jobs()).toBe(jobsBefore);
    // A range of one score is a range.
    expect((await as(s, "POST", "/api/people/search", { score_min: 50, score_max: 50 })).status).toBe(200);
  });

  it("a number past two limits is told the one it can act on, once", async () => {
    const s = await login("admin@demo.test");
    const timeline = await as(s, "GET", "/api/contacts/07000000000000000000000e/timeline?page=99999999999999999999");
    const { fields } = await problems(timeline);
    expect(fields.map((f) => [f.field, f.message])).toEqual([["page", expect.stringMatching(/^Page can be at most \d{1,3}$/)]]);
    const contacts = await as(s, "GET", "/api/contacts?per_page=1e300");
    expect((await problems(contacts)).fields.map((f) => [f.field, f.message])).toEqual([
      ["per_page", "Results per page can be at most 100"],
    ]);
    const low = await as(s, "GET", "/api/contacts?page=-99999999999999999999");
    expect((await problems(low)).fields.map((f) => [f.field, f.message])).toEqual([["page", "Page must be at least 1"]]);
  });

  it("field labels read as words: plurals, and a schedule's windows by weekday", async () => {
    const s = await login("admin@demo.test");
    const six = [
      ["01:00", "02:00"],
      ["03:00", "04:00"],
      ["05:00", "06:00"],
      ["07:00", "08:00"],
      ["09:00", "10:00"],
      ["11:00", "12:00"],
      ["13:00", "14:00"],
    ];
    const res = await as(s, "POST", "/api/schedules", { name: "Too many", time_zone: "UTC", windows: { "1": six } });
    expect((await problems(res)).fields[0]).toMatchObject({ field: "windows.1", label: "Monday's windows" });
    const bad = await as(s, "POST", "/api/schedules", { name: "Bad", time_zone: "UTC", windows: { "3": [["09:00"]] } });
    expect((await problems(bad)).fields[0]!.label).toBe("Wednesday's windows (window 1)");
    const mailboxes = await as(s, "POST", "/api/sequences/0a0000000000000000000001/add-contacts/preview", {
      source: { contact_ids: ["x"] },
      mailbox_ids: Array.from({ length: 51 }, (_, i) => `m${i}`),
    });
    expect((await problems(mailboxes)).fields[0]).toMatchObject({
      field: "mailbox_ids",
      label: "Mailboxes",
      message: "Mailboxes can have at most 50 items",
    });
  });
});
