// A website cell with a port or a final dot gives the company's host, as everywhere else (lib companyHost):
// the import kept "portco.io:8443" as the domain, and enrichment guessed addresses like p…@portco.io:8443
// (invalid, paid for, bounced).
import { describe, expect, it } from "vitest";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup } from "../fixtures";
import { autoMap, mapRow } from "../../worker/services/imports/mapping";

describe("CSV imports: a website with a port or a final dot", () => {
  it("maps to the bare host", () => {
    const headers = ["First Name", "Last Name", "Company", "Website"];
    const m = autoMap(headers);
    const host = (site: string) => {
      const r = mapRow(["Pat", "Lee", "PortCo", site], headers, m);
      return "row" in r ? r.row.domain : r.problem.reason;
    };
    expect(host("https://portco.io:8443/about")).toBe("portco.io");
    expect(host("WWW.PortCo.io.")).toBe("portco.io");
    expect(host("https://www.linkedin.com:443/company/portco")).toBe(null);
  });

  it("saves contacts with the bare host as their domain", async () => {
    const { s, teamId } = await addContactsSetup();
    const csv = "First Name,Last Name,Company,Website\nPat,Lee,PortCo,https://portco.io:8443/about\nSam,Ray,PortCo,portco.io.\n";
    const { import: up } = await ok(client(s).api.imports.$post({ form: { file: new File([csv], "people.csv") } }), 201);
    expect(await savedImport(s, up.id)).toMatchObject({ status: "ready", created: 2 });
    const rows = await env.DB.prepare(
      "SELECT first_name, domain FROM contacts WHERE team_id = ? AND deleted_at IS NULL ORDER BY first_name",
    )
      .bind(teamId)
      .all();
    expect(rows.results).toEqual([
      { first_name: "Pat", domain: "portco.io" },
      { first_name: "Sam", domain: "portco.io" },
    ]);
  });
});
