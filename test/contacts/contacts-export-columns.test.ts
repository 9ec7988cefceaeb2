import { beforeEach, describe, expect, it } from "vitest";
import { decodeField, parsePart } from "../../worker/services/imports/csv";
import { autoMap, CUSTOM_FIELD, mapRow } from "../../worker/services/imports/mapping";
import { call, env } from "../helpers";
import { makeContacts, makeTeam, sessionFor, startSimulation } from "../fixtures";

// The Contacts page's Export CSV downloads what its table shows (README): the file left out the country,
// score, phone, LinkedIn, city, time zone, the unsubscribe and bounce dates, and held the custom fields
// as one JSON cell, so an export did not re-import without loss. Each is a column now, one per custom
// field (the keys of the exported contacts, in order), and the import's mapping recognises them.

async function exported(cookie: string) {
  const res = await call("/api/contacts/export", { headers: { cookie } });
  expect(res.status).toBe(200);
  const bytes = new Uint8Array(await res.arrayBuffer());
  // The parser of CSV imports (after the byte order mark), its fields decoded as an import reads them.
  const [header, ...rows] = parsePart(bytes.subarray(3), ",").map((r) => r.map((f) => decodeField(f, "utf-8") ?? ""));
  return { header: header!, rows };
}

describe("contacts export columns", () => {
  beforeEach(() => startSimulation());

  it("holds every field of the table and one column per custom field, and maps back onto the same fields", async () => {
    const { teamId, userId } = await makeTeam();
    const [a, b] = (await makeContacts(teamId, 2)) as [string, string];
    await env.DB.prepare(
      `UPDATE contacts SET first_name = 'Élodie', last_name = 'Müller', company = 'Société Générale', phone = '+33 1 23 45 67 89',
         linkedin_url = 'https://www.linkedin.com/in/elodie', industry = 'Banking', city = 'Paris', country = 'France',
         time_zone = 'Europe/Paris', score = 42, unsubscribed_at = 1700000000000, custom_fields = '{"plan":"pro","seats":"12","phone":"desk"}'
       WHERE id = ?`,
    )
      .bind(a)
      .run();
    await env.DB.prepare(`UPDATE contacts SET bounced_at = 1700000001000, custom_fields = '{"region":"EMEA"}' WHERE id = ?`).bind(b).run();
    const { header, rows } = await exported((await sessionFor(teamId, userId)).cookie);

    expect(header).toEqual([
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
      // The custom fields' keys in order, each as custom.<key>: one named as a fixed column is told apart.
      "custom.phone",
      "custom.plan",
      "custom.region",
      "custom.seats",
    ]);
    const row = (id: string) => Object.fromEntries(header.map((h, i) => [h, rows.find((r) => r[0] === id)![i]]));
    expect(row(a)).toMatchObject({
      phone: "'+33 1 23 45 67 89",
      linkedin_url: "https://www.linkedin.com/in/elodie",
      industry: "Banking",
      city: "Paris",
      country: "France",
      time_zone: "Europe/Paris",
      score: "42",
      unsubscribed_at: new Date(1700000000000).toISOString(),
      bounced_at: "",
      "custom.phone": "desk",
      "custom.plan": "pro",
      "custom.seats": "12",
      "custom.region": "",
    });
    expect(row(b)).toMatchObject({ bounced_at: new Date(1700000001000).toISOString(), "custom.region": "EMEA", "custom.plan": "" });

    // Re-imported: the import's own mapping takes each contact column back to its field and keeps each
    // custom column as a custom field, under its key.
    const mapping = autoMap(header, rows);
    for (const h of header.filter((h) => h.startsWith("custom."))) expect(mapping[header.indexOf(h)], h).toBe(CUSTOM_FIELD);
    for (const f of [
      "first_name",
      "last_name",
      "email",
      "title",
      "company",
      "domain",
      "owner_email",
      "phone",
      "linkedin_url",
      "industry",
      "city",
      "country",
      "time_zone",
    ])
      expect(mapping[header.indexOf(f)], f).toBe(f);
    const back = mapRow(
      rows.find((r) => r[0] === a)!,
      header,
      mapping,
    );
    expect("row" in back && back.row).toMatchObject({
      first_name: "Élodie",
      last_name: "Müller",
      company: "Société Générale",
      phone: "+33 1 23 45 67 89",
      linkedin_url: "https://www.linkedin.com/in/elodie",
      industry: "Banking",
      city: "Paris",
      country: "France",
      time_zone: "Europe/Paris",
      custom_fields: { phone: "desk", plan: "pro", seats: "12" },
    });
  });

  it("custom keys named like a contact field (name, phone) come back as custom fields under their keys, the names untouched", async () => {
    const { teamId, userId } = await makeTeam();
    const [a] = (await makeContacts(teamId, 1)) as [string];
    await env.DB.prepare(
      `UPDATE contacts SET first_name = 'Ada', last_name = 'Lovelace', phone = '+44 20 7946 0000',
         custom_fields = '{"name":"Countess","phone":"desk line","deal_size":"40k","contact":"via Babbage"}' WHERE id = ?`,
    )
      .bind(a)
      .run();
    const { header, rows } = await exported((await sessionFor(teamId, userId)).cookie);
    // The import's mapping as it proposes it, no column chosen by hand.
    const mapping = autoMap(header, rows);
    expect(mapping.filter((f) => f === "full_name")).toEqual([]);
    const back = mapRow(rows[0]!, header, mapping);
    expect("row" in back && back.row).toMatchObject({
      first_name: "Ada",
      last_name: "Lovelace",
      phone: "+44 20 7946 0000",
      custom_fields: { name: "Countess", phone: "desk line", deal_size: "40k", contact: "via Babbage" },
    });
    expect("row" in back && Object.keys(back.row.custom_fields).sort()).toEqual(["contact", "deal_size", "name", "phone"]);
  });
});
