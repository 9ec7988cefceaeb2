// Every CSV download goes through one helper (worker/lib/csv.ts csvDownload): a UTF-8 BOM first, text/csv,
// an attachment whose name survives a user's file name. Before it, the outcomes file and the import sample had
// no BOM (Excel on Windows read "Müller" as ANSI), and an import's error report was named with every
// character outside ASCII letters and digits turned into "_" ("Kunden Müller.csv" → "Kunden_M_ller-errors.csv").
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { attachment, csvDownload } from "../../worker/lib/csv";
import { client, env, ok, savedImport } from "../helpers";
import { addContactsSetup, makeContacts, waitForJob } from "../fixtures";

const BOM = [0xef, 0xbb, 0xbf];
/** The answer's bytes as text, the BOM kept (Response.text() drops it). */
const raw = async (res: { arrayBuffer(): Promise<ArrayBuffer> }) =>
  new TextDecoder("utf-8", { ignoreBOM: true }).decode(await res.arrayBuffer());
const firstBytes = async (res: { arrayBuffer(): Promise<ArrayBuffer> }) => [...new Uint8Array(await res.arrayBuffer()).subarray(0, 3)];

beforeEach(() => resetClock());

describe("CSV downloads", () => {
  it("a job's outcomes start with a BOM, so a contact's accented name opens right in Excel", async () => {
    const x = await addContactsSetup();
    const [id] = await makeContacts(x.teamId, 1);
    await env.DB.prepare("UPDATE contacts SET first_name = 'Zoë', last_name = 'Müller' WHERE id = ?").bind(id).run();
    const { job } = await ok(
      client(x.s).api.sequences[":id"]["add-contacts"].$post({
        param: { id: x.sequenceId },
        header: {},
        json: { source: { contact_ids: [id!] } },
      }),
      202,
    );
    await waitForJob(job.id);
    const res = await client(x.s).api.jobs[":id"]["outcomes.csv"].$get({ param: { id: job.id } });
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="job-${job.id}-outcomes.csv"`);
    const text = await raw(res);
    expect(text.startsWith("\uFEFFcontact_id,person_id,name,email,")).toBe(true);
    expect(text).toContain(`${id},`);
    expect(text).toContain("Zoë Müller");
  });

  it("the import sample starts with a BOM too", async () => {
    const { s } = await addContactsSetup();
    const res = await client(s).api.imports["sample.csv"].$get();
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="seqflare-contacts-sample.csv"');
    expect(await firstBytes(res)).toEqual(BOM);
  });

  it("an import's error report keeps the uploaded file's name (RFC 6266 filename*), with an ASCII fallback", async () => {
    const { s } = await addContactsSetup();
    const file = new File(["Email,Name\r\nnot-an-email,Zoë\r\nok@x.io,Ok\r\n"], "Kunden Müller (Q1).csv");
    const { import: up } = await ok(client(s).api.imports.$post({ form: { file } }), 201);
    await savedImport(s, up.id);
    const res = await client(s).api.imports[":id"]["errors.csv"].$get({ param: { id: up.id } });
    expect(res.headers.get("content-disposition")).toBe(
      `attachment; filename="Kunden_M_ller_Q1_-errors.csv"; filename*=UTF-8''Kunden%20M%C3%BCller%20%28Q1%29-errors.csv`,
    );
    expect(await raw(res)).toMatch(/^\uFEFFrow,column,value,reason,Email,Name\r\n2,Email,not-an-email,/);
  });
});

describe("csvDownload", () => {
  it("streams an iterable's pieces after one BOM, skipping empty pieces, and ends a BOM-only file when there are none", async () => {
    async function* pieces() {
      yield "";
      yield "a,b\r\n";
      yield "";
      yield "1,2\r\n";
    }
    expect(await raw(csvDownload("x.csv", pieces()))).toBe("\uFEFFa,b\r\n1,2\r\n");
    expect(await raw(csvDownload("x.csv", (async function* () {})()))).toBe("\uFEFF");
    expect(await raw(csvDownload("x.csv", "a\r\n"))).toBe("\uFEFFa\r\n");
  });

  it("reads a piece only when the reader wants one, and stops the iterable when the download is given up", async () => {
    let read = 0;
    let stopped = false;
    async function* pages() {
      try {
        for (;;) {
          read++;
          yield `${read}\r\n`;
        }
      } finally {
        stopped = true;
      }
    }
    const reader = csvDownload("x.csv", pages()).body!.getReader();
    expect(new TextDecoder("utf-8", { ignoreBOM: true }).decode((await reader.read()).value)).toBe("\uFEFF1\r\n");
    expect(read).toBeLessThanOrEqual(2); // the stream may pull one piece ahead, never the rest
    await reader.cancel();
    expect(stopped).toBe(true);
  });

  it("names the file safely: a quote, backslash or line break never reaches the header's quoted name", () => {
    expect(attachment("contacts.csv")).toBe('attachment; filename="contacts.csv"');
    expect(attachment('a"b\\c\r\nd.csv')).toBe(`attachment; filename="a_b_c_d.csv"; filename*=UTF-8''a%22b_c_d.csv`);
    expect(attachment("Zoë's 50%.csv")).toBe(`attachment; filename="Zo_s_50_.csv"; filename*=UTF-8''Zo%C3%AB%27s%2050%25.csv`);
    // A name cut inside a character (a lone surrogate) is still a header, not an exception.
    expect(attachment("a\uD83D.csv")).toBe(`attachment; filename="a_.csv"; filename*=UTF-8''a_.csv`);
  });
});
