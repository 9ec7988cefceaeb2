// The CSV upload refused legitimate multipart requests with 415 and a message about JSON: the
// OpenAPI layer's gate admits `multipart/form-data` with a short boundary and no other parameter.
// Real clients send more (a charset, parameters in another order, a quoted boundary, other case);
// each is accepted now, and a body that is not a form gets a 415 naming what the route accepts.
import { describe, expect, it } from "vitest";
import { addContactsSetup } from "../fixtures";
import { call, env, errorOf } from "../helpers";

type S = Awaited<ReturnType<typeof addContactsSetup>>["s"];

const csv = "Email,First name\nada@example.com,Ada\n";

/** A multipart body with one CSV file in the field `file`, delimited by `boundary`, as clients write it. */
const formBody = (boundary: string) =>
  `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="contacts.csv"\r\nContent-Type: text/csv\r\n\r\n${csv}\r\n--${boundary}--\r\n`;

const post = (s: S, contentType: string, body: BodyInit) =>
  call("/api/imports", { method: "POST", headers: { cookie: s.cookie, "x-csrf-token": s.csrf, "content-type": contentType }, body });

const importsOf = async (teamId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM imports WHERE team_id = ?").bind(teamId).first<{ n: number }>())!.n;

describe("CSV upload: the Content-Type real clients send", () => {
  it("accepts a form whatever its header's parameters, case and spacing", async () => {
    const { s, teamId } = await addContactsSetup();
    // [Content-Type header, boundary used in the body]
    const shapes: [string, string][] = [
      // curl -F file=@contacts.csv
      ["multipart/form-data; boundary=------------------------d74496d66958873e", "------------------------d74496d66958873e"],
      // Chrome / Firefox / Safari
      ["multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW", "----WebKitFormBoundary7MA4YWxkTrZu0gW"],
      // Python requests (files=...)
      ["multipart/form-data; boundary=1b2c0a5e1f1e4d7a9c0d2f6b8e3a4c5d", "1b2c0a5e1f1e4d7a9c0d2f6b8e3a4c5d"],
      // A charset after the boundary (Spring, Apache HttpClient, several HTTP libraries), or before it
      ["multipart/form-data; boundary=x-boundary-1; charset=utf-8", "x-boundary-1"],
      ["multipart/form-data; charset=UTF-8; boundary=x-boundary-2", "x-boundary-2"],
      // Case and spacing are free (RFC 9110), and a boundary may be quoted, spaces and all (RFC 2046)
      ["Multipart/Form-Data; BOUNDARY=x-boundary-3", "x-boundary-3"],
      ["multipart/form-data;  boundary=x-boundary-4", "x-boundary-4"],
      ['multipart/form-data; boundary="x boundary 5"', "x boundary 5"],
    ];
    for (const [type, boundary] of shapes) {
      const before = await importsOf(teamId);
      const res = await post(s, type, formBody(boundary));
      expect(res.status, `${type}: ${await res.clone().text()}`).toBe(201);
      const { import: imp } = (await res.json()) as { import: { id: string; file_name: string } };
      expect(await importsOf(teamId), type).toBe(before + 1);
      const row = await env.DB.prepare("SELECT file_name FROM imports WHERE id = ? AND team_id = ?")
        .bind(imp.id, teamId)
        .first<{ file_name: string }>();
      expect(row, type).toEqual({ file_name: "contacts.csv" });
    }
    // What the platform's own FormData sends (the app's upload, fetch in Node and browsers).
    const form = new FormData();
    form.append("file", new File([csv], "contacts.csv", { type: "text/csv" }));
    const res = await call("/api/imports", { method: "POST", headers: { cookie: s.cookie, "x-csrf-token": s.csrf }, body: form });
    expect(res.status).toBe(201);
    expect(await importsOf(teamId)).toBe(shapes.length + 1);
  });

  it("answers a body that is not a form with a 415 naming multipart/form-data, and saves nothing", async () => {
    const { s, teamId } = await addContactsSetup();
    for (const [type, body] of [
      ["text/csv", csv], // curl --data-binary @contacts.csv -H 'Content-Type: text/csv'
      ["application/json", JSON.stringify({ file: csv })],
      ["application/x-www-form-urlencoded", "file=x"],
    ] as const) {
      const e = await errorOf(await post(s, type, body));
      expect(e, type).toMatchObject({ status: 415, code: "unsupported_media_type" });
      expect(e.message, type).toContain("accepts multipart/form-data");
      expect(e.message, type).toContain(`sent as ${type}`);
      expect(e.message, type).not.toMatch(/json with/i);
      expect(e.details, type).toEqual({ accepts: ["multipart/form-data"], received: type });
    }
    expect(await importsOf(teamId)).toBe(0);
  });

  it("a JSON route's 415 names the type it accepts", async () => {
    const { s } = await addContactsSetup();
    const e = await errorOf(
      await call("/api/contacts", {
        method: "POST",
        headers: { cookie: s.cookie, "x-csrf-token": s.csrf, "content-type": "text/plain" },
        body: "first_name=Ada",
      }),
    );
    expect(e).toMatchObject({ status: 415, code: "unsupported_media_type", details: { accepts: ["application/json"] } });
  });
});
