// One contact per company reads a company's domain however it was stored: the API keeps a contact's domain as
// given (`www.acme.com`, `ACME.com`, `https://www.acme.com/`), imports and Apollo's website_url keep the bare host,
// and a contact made with no domain takes its email's. All of these are acme.com; free mail is still no company.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { companyHost, companyHostSql } from "../../worker/lib/company-domain";
import { client, env, ok } from "../helpers";
import { addContactsSetup, enroll, makeContacts, waitForJob } from "../fixtures";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];
type AddContacts = ReturnType<typeof client>["api"]["sequences"][":id"]["add-contacts"];
type Req = Parameters<AddContacts["$post"]>[0]["json"];
const preview = (s: S, seq: string, json: Req) =>
  client(s).api.sequences[":id"]["add-contacts"].preview.$post({ param: { id: seq }, query: {}, json });
const commit = (s: S, seq: string, json: Req) =>
  client(s).api.sequences[":id"]["add-contacts"].$post({ param: { id: seq }, header: {}, json });

async function companies(rows: [string, string | null, string | null][]) {
  for (const [id, company, domain] of rows)
    await env.DB.prepare("UPDATE contacts SET company = ?, domain = ? WHERE id = ?").bind(company, domain, id).run();
}

/** What the preview shows per contact, and what the job did. */
async function previewAndJob(s: S, sequenceId: string, req: Req) {
  const pv = await ok(preview(s, sequenceId, req));
  const shown = Object.fromEntries(pv.contacts.map((c) => [c.contact_id, [c.outcome, c.reasons]]));
  const { job } = await ok(commit(s, sequenceId, req), 202);
  await waitForJob(job.id);
  const rows = (
    await env.DB.prepare("SELECT contact_id, outcome, reasons FROM job_outcomes WHERE job_id = ?")
      .bind(job.id)
      .all<{ contact_id: string; outcome: string; reasons: string }>()
  ).results;
  return { shown, done: Object.fromEntries(rows.map((r) => [r.contact_id, [r.outcome, JSON.parse(r.reasons)]])) };
}

const enrolledContacts = async (sequenceId: string) =>
  (
    await env.DB.prepare("SELECT contact_id FROM enrollments WHERE sequence_id = ? ORDER BY contact_id")
      .bind(sequenceId)
      .all<{ contact_id: string }>()
  ).results.map((r) => r.contact_id);

beforeEach(() => resetClock());

describe("skip_same_company: a company's domain", () => {
  it("www., case, a website's scheme, port and path: one company; the first in priority order is added", async () => {
    const x = await addContactsSetup();
    const [a, b, c, d, e] = await makeContacts(x.teamId, 5, { score: (i) => 90 - i * 10 });
    // Names differ on purpose: only the domain can group them.
    await companies([
      [a!, "Acme Inc", "https://www.acme.com/"],
      [b!, "ACME", "ACME.com"],
      [c!, "Acme Corp", "www.acme.com"],
      [d!, "Acme GmbH", "acme.com"],
      [e!, "Acme Labs", "http://WWW.Acme.com:8080/about?x=1#top"],
    ]);
    const { shown, done } = await previewAndJob(x.s, x.sequenceId, {
      source: { contact_ids: [a!, b!, c!, d!, e!] },
      skip_same_company: true,
    });
    const skipped = ["skipped", ["same_company"]];
    const want = { [a!]: ["enrolled", []], [b!]: skipped, [c!]: skipped, [d!]: skipped, [e!]: skipped };
    expect(shown).toEqual(want);
    expect(done).toEqual(want);
    expect(await enrolledContacts(x.sequenceId)).toEqual([a!]);
  });

  it("a colleague open in the sequence at acme.com: a contact whose website is https://www.acme.com/ is skipped", async () => {
    const x = await addContactsSetup();
    const [a, b, c] = await makeContacts(x.teamId, 3);
    await companies([
      [a!, "Acme", "acme.com"],
      [b!, "Acme Incorporated", " https://www.Acme.com/ "],
      [c!, "Globex", "www.globex.com"],
    ]);
    await enroll(x.teamId, x.sequenceId, [a!], x.mailboxIds);
    const { shown, done } = await previewAndJob(x.s, x.sequenceId, { source: { contact_ids: [b!, c!] }, skip_same_company: true });
    const want = { [b!]: ["skipped", ["same_company"]], [c!]: ["enrolled", []] };
    expect(shown).toEqual(want);
    expect(done).toEqual(want);
  });

  it("free mail in any form is no company: www.gmail.com, GMAIL.com. and https://gmail.com/ contacts are all added", async () => {
    const x = await addContactsSetup();
    const [a, b, c] = await makeContacts(x.teamId, 3);
    await companies([
      [a!, null, "www.gmail.com"],
      [b!, null, "GMAIL.com."],
      [c!, null, "https://gmail.com/"],
    ]);
    const { shown, done } = await previewAndJob(x.s, x.sequenceId, { source: { contact_ids: [a!, b!, c!] }, skip_same_company: true });
    const want = { [a!]: ["enrolled", []], [b!]: ["enrolled", []], [c!]: ["enrolled", []] };
    expect(shown).toEqual(want);
    expect(done).toEqual(want);
  });

  it("companyHost (JavaScript) and companyHostSql (D1) read every form alike", async () => {
    const values = [
      "acme.com",
      "ACME.com",
      "www.acme.com",
      "https://www.acme.com/",
      "http://WWW.Acme.com:8080/about?x=1#top",
      " acme.com. ",
      "\tacme.com\n",
      "acme.com?ref=x",
      "acme.com#x",
      "sub.acme.co.uk/path",
      "www.gmail.com",
      "https://gmail.com/",
      "GMAIL.com.",
      "www.",
      "https://",
      "",
      "  ",
      null,
    ];
    const rows = (
      await env.DB.prepare(`SELECT value AS v, ${companyHostSql("value")} AS h FROM json_each(?) ORDER BY key`)
        .bind(JSON.stringify(values))
        .all<{ v: string | null; h: string | null }>()
    ).results;
    expect(rows.map((r) => r.h)).toEqual(values.map(companyHost));
    expect(values.map(companyHost)).toEqual([
      "acme.com",
      "acme.com",
      "acme.com",
      "acme.com",
      "acme.com",
      "acme.com",
      "acme.com",
      "acme.com",
      "acme.com",
      "sub.acme.co.uk",
      null,
      null,
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
  });
});
