// The template editor's variable picker lists the team's custom fields (issue 11: "unmapped columns
// kept as custom fields usable as template variables"), and the preview fills them for the contact.
import { describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { call, client, env, ok, type Session } from "../helpers";
import { addContactsSetup, makeTeam, runUntil, sessionFor, startSimulation, waitForJob } from "../fixtures";

const req = (s: Session, method: string, path: string, body?: unknown) =>
  call(path, {
    method,
    headers: { cookie: s.cookie, "x-csrf-token": s.csrf, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

async function importWithCustomField(s: Session, csv: string, mapping: (string | null)[]) {
  const { import: imp } = await ok(
    client(s).api.imports.$post({ form: { file: new File([csv], "custom.csv", { type: "text/csv" }) } }),
    201,
  );
  expect((await req(s, "PATCH", `/api/imports/${imp.id}`, { mapping })).status).toBe(200);
  expect((await req(s, "POST", `/api/imports/${imp.id}/save`)).status).toBe(202);
  const until = Date.now() + 60_000;
  for (;;) {
    const { import: cur } = (await (await req(s, "GET", `/api/imports/${imp.id}`)).json()) as { import: { status: string } };
    if (cur.status === "ready") return imp.id;
    if (cur.status === "failed" || Date.now() > until) throw new Error(`import ${cur.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const variables = async (s: Session) =>
  ((await (await req(s, "GET", "/api/template-variables")).json()) as { variables: { name: string; description: string }[] }).variables;

describe("template variables", () => {
  it("lists the team's custom fields (from its saved CSV imports) after the built-in ones, each once; another team's stay out", async () => {
    startSimulation();
    const x = await addContactsSetup();
    const before = await variables(x.s);
    expect(before.some((v) => v.name.startsWith("custom."))).toBe(false);
    await importWithCustomField(x.s, "Email,First Name,Favourite colour,Pet\nada@vars.test,Ada,Teal,Cat\n", [
      "email",
      "first_name",
      "custom_field",
      "custom_field",
    ]);
    await importWithCustomField(x.s, "Email,Favourite colour\nbob@vars.test,Red\n", ["email", "custom_field"]);
    const after = await variables(x.s);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.slice(before.length).map((v) => v.name)).toEqual(["custom.favourite_colour", "custom.pet"]);
    expect(after.find((v) => v.name === "custom.pet")!.description).toMatch(/custom field/i);
    const other = await makeTeam();
    expect((await variables(await sessionFor(other.teamId, other.userId))).some((v) => v.name.startsWith("custom."))).toBe(false);
  });

  it("the next-email preview fills a custom field with the contact's value, and its fallback when the contact has none", async () => {
    startSimulation();
    const x = await addContactsSetup({
      steps: [
        {
          wait: 1,
          variants: [{ subject: "For {{first_name}}", body: "Your colour: {{custom.favourite_colour|none yet}}. Pet: {{custom.pet}}." }],
        },
      ],
    });
    const imp = await importWithCustomField(
      x.s,
      "Email,First Name,Favourite colour,Pet\nada@prev.test,Ada,Teal,Cat\nbob@prev.test,Bob,,\n",
      ["email", "first_name", "custom_field", "custom_field"],
    );
    const add = await req(x.s, "POST", `/api/sequences/${x.sequenceId}/add-contacts`, {
      source: { import_id: imp },
      overrides: { unverified_email: true },
    });
    expect(add.status, await add.clone().text()).toBe(202);
    expect(await waitForJob(((await add.json()) as { job: { id: string } }).job.id)).toMatchObject({ status: "completed", enrolled: 2 });
    await runUntil(now() + 60_000);
    const rows = (
      await env.DB.prepare(
        "SELECT e.id, c.email FROM enrollments e JOIN contacts c ON c.id = e.contact_id WHERE e.sequence_id = ? ORDER BY c.email",
      )
        .bind(x.sequenceId)
        .all<{ id: string; email: string }>()
    ).results;
    const preview = async (id: string) =>
      (await (await req(x.s, "GET", `/api/sequences/${x.sequenceId}/enrollments/${id}/next-email`)).json()) as {
        body: string;
        missing: string[];
      };
    const ada = await preview(rows[0]!.id);
    expect(ada.body).toContain("Your colour: Teal. Pet: Cat.");
    expect(ada.missing).toEqual([]);
    const bob = await preview(rows[1]!.id);
    // No value: the fallback where the template gives one; a variable without one is named as missing.
    expect(bob.body).toContain("Your colour: none yet. Pet: .");
    expect(bob.missing).toEqual(["custom.pet"]);
  });
});
