import { Validator, type Schema } from "@cfworker/json-schema";
import { beforeAll, describe, expect, it } from "vitest";
import { as, call, errorOf, login } from "../helpers";
import { addContactsSetup, makeContacts, waitForJob } from "../fixtures";

/** The parts of the OpenAPI document these tests read. */
interface Operation {
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content: Record<string, { schema: Schema }> }>;
}
interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, Schema> };
}

let doc: OpenApiDoc;

/** Inline every `#/components/schemas/...` reference (our schemas have no cycles). */
function deref(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(deref);
  if (node && typeof node === "object") {
    const ref = (node as { $ref?: unknown }).$ref;
    if (typeof ref === "string")
      return deref(
        ref
          .split("/")
          .slice(1)
          .reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], doc),
      );
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, deref(v)]));
  }
  return node;
}

const schemaOf = (node: Schema) => deref(node) as Schema;

/**
 * Validates a real response against the document's schema for that operation and status, and
 * returns its body as `T` (the few fields the test reads next, which the schema just checked).
 */
async function conforms<T = unknown>(res: Response, method: string, path: string): Promise<T> {
  const op = doc.paths[path]?.[method];
  expect(op, `${method.toUpperCase()} ${path} is documented`).toBeTruthy();
  const spec = op!.responses[String(res.status)];
  expect(spec, `${method.toUpperCase()} ${path} documents status ${res.status}`).toBeTruthy();
  const schema = schemaOf(spec!.content["application/json"]!.schema);
  const body = await res.json();
  const result = new Validator(schema, "2020-12", false).validate(body);
  expect(result.errors.slice(0, 3), `${method.toUpperCase()} ${path} ${res.status}`).toEqual([]);
  expect(result.valid).toBe(true);
  return body as T;
}

beforeAll(async () => {
  const res = await call("/api/openapi.json");
  expect(res.status).toBe(200);
  doc = await res.json();
});

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1, public, and describes the API with its security schemes", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: "apiKey", in: "header", name: "X-Api-Key" });
    for (const p of [
      "/sequences",
      "/sequences/{id}/add-contacts",
      "/sequences/{id}/add-contacts/preview",
      "/jobs/{id}",
      "/people/search",
      "/mailboxes",
      "/tasks",
      "/credits",
      "/api-keys",
      "/contacts",
      "/lists",
    ]) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
  });

  it("rejects a body that breaks its schema (the check can fail)", () => {
    const schema = schemaOf(doc.paths["/contacts"]!.get!.responses["200"]!.content["application/json"]!.schema);
    expect(new Validator(schema, "2020-12", false).validate({ contacts: [{ id: 1 }], pagination: {} }).valid).toBe(false);
  });

  it("describes the CSV upload as a multipart form with a binary file, as the typed client sends it", () => {
    const form = schemaOf(doc.paths["/imports"]!.post!.requestBody!.content["multipart/form-data"]!.schema);
    expect(form).toMatchObject({ type: "object", properties: { file: { type: "string", format: "binary" } }, required: ["file"] });
  });

  it("serves browsable docs", async () => {
    const res = await call("/api/docs");
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("/api/openapi.json");
  });
});

describe("real responses match the document", () => {
  it("reads: me, contacts, lists, sequences, schedules, mailboxes, tasks, messages, credits, ledger, people", async () => {
    const s = await login("admin@demo.test");
    await conforms(await as(s, "GET", "/api/me"), "get", "/me");
    await conforms(await as(s, "GET", "/api/contacts?per_page=5"), "get", "/contacts");
    await conforms(await as(s, "GET", "/api/lists"), "get", "/lists");
    const seqs = await conforms<{ sequences: { id: string }[] }>(await as(s, "GET", "/api/sequences"), "get", "/sequences");
    await conforms(await as(s, "GET", `/api/sequences/${seqs.sequences[0]!.id}`), "get", "/sequences/{id}");
    await conforms(
      await as(s, "GET", `/api/sequences/${seqs.sequences[0]!.id}/enrollments?per_page=5`),
      "get",
      "/sequences/{id}/enrollments",
    );
    await conforms(await as(s, "GET", "/api/schedules"), "get", "/schedules");
    await conforms(await as(s, "GET", "/api/mailboxes"), "get", "/mailboxes");
    await conforms(await as(s, "GET", "/api/tasks?view=open&assignee=all"), "get", "/tasks");
    await conforms(await as(s, "GET", "/api/messages"), "get", "/messages");
    await conforms(await as(s, "GET", "/api/credits"), "get", "/credits");
    await conforms(await as(s, "GET", "/api/credits/ledger"), "get", "/credits/ledger");
    await conforms(await as(s, "GET", "/api/users"), "get", "/users");
    await conforms(await as(s, "GET", "/api/api-keys"), "get", "/api-keys");
    await conforms(await as(s, "POST", "/api/people/search", { seniorities: ["vp"], per_page: 5 }), "post", "/people/search");
  });

  it("writes: contact, list, sequence, step, preview, job, outcomes", async () => {
    const x = await addContactsSetup();
    const contact = await conforms<{ contact: { id: string } }>(
      await as(x.s, "POST", "/api/contacts", {
        first_name: "Ada",
        last_name: "Lovelace",
        email: "ada@example.test",
        list_names: ["Pioneers"],
      }),
      "post",
      "/contacts",
    );
    await conforms(await as(x.s, "PATCH", `/api/contacts/${contact.contact.id}`, { title: "Analyst" }), "patch", "/contacts/{id}");
    const list = await conforms<{ list: { id: string } }>(await as(x.s, "POST", "/api/lists", { name: "Contract list" }), "post", "/lists");
    await conforms(
      await as(x.s, "POST", `/api/lists/${list.list.id}/members`, { contact_ids: [contact.contact.id] }),
      "post",
      "/lists/{id}/members",
    );
    const seq = await conforms<{ sequence: { id: string } }>(
      await as(x.s, "POST", "/api/sequences", { name: "Contract" }),
      "post",
      "/sequences",
    );
    await conforms(
      await as(x.s, "POST", `/api/sequences/${seq.sequence.id}/steps`, {
        type: "auto_email",
        variants: [{ subject: "Hi", body: "Hello" }],
      }),
      "post",
      "/sequences/{id}/steps",
    );
    const ids = await makeContacts(x.teamId, 3);
    await conforms(
      await as(x.s, "POST", `/api/sequences/${x.sequenceId}/add-contacts/preview`, { source: { contact_ids: ids } }),
      "post",
      "/sequences/{id}/add-contacts/preview",
    );
    const job = await conforms<{ job: { id: string } }>(
      await as(x.s, "POST", `/api/sequences/${x.sequenceId}/add-contacts`, { source: { contact_ids: ids } }),
      "post",
      "/sequences/{id}/add-contacts",
    );
    await waitForJob(job.job.id);
    await conforms(await as(x.s, "GET", `/api/jobs/${job.job.id}`), "get", "/jobs/{id}");
    await conforms(await as(x.s, "GET", `/api/jobs/${job.job.id}/outcomes`), "get", "/jobs/{id}/outcomes");
    await conforms(await as(x.s, "GET", "/api/jobs"), "get", "/jobs");
  });

  it("errors: 404, 422 and 403 use the documented error body", async () => {
    const s = await login("rep2@demo.test");
    await conforms(await as(s, "GET", "/api/contacts/nope"), "get", "/contacts/{id}");
    await conforms(await as(s, "GET", "/api/contacts?per_page=1000"), "get", "/contacts");
    await conforms(await as(s, "GET", "/api/api-keys"), "get", "/api-keys");
    expect((await errorOf(await as(s, "GET", "/api/contacts/nope"))).code).toBe("not_found");
  });

  it("the answers to bad input are in the document of every operation that gives them: 422, 415, a member's 403", async () => {
    const missing: string[] = [];
    for (const [path, item] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(item) as [string, Operation & { parameters?: unknown[] }][]) {
        const says = (status: number) => String(status) in op.responses || missing.push(`${method.toUpperCase()} ${path}: ${status}`);
        if (op.parameters?.length || op.requestBody) says(422);
        if (op.requestBody?.content["application/json"]) says(415);
      }
    expect(missing).toEqual([]);
    // Answered as documented (the route walk found these answered but not listed).
    const admin = await login("admin@demo.test");
    const member = await login("rep1@demo.test");
    for (const [url, path] of [
      ["/api/sequences/0a0000000000000000000001/enrollments?per_page=0", "/sequences/{id}/enrollments"],
      ["/api/tasks?per_page=0", "/tasks"],
    ] as const) {
      const res = await as(admin, "GET", url);
      expect(res.status, url).toBe(422);
      await conforms(res, "get", path);
    }
    const textBody = await call("/api/contacts", {
      method: "POST",
      headers: { "Content-Type": "text/plain", cookie: admin.cookie, "x-csrf-token": admin.csrf },
      body: "email=x@example.com",
    });
    expect(textBody.status).toBe(415);
    await conforms(textBody, "post", "/contacts");
    const others = await as(member, "POST", "/api/mailboxes", {
      email: "someone-else@example.test",
      sender_name: "Someone else",
      daily_limit: 50,
      user_id: "020000000000000000000001",
    });
    expect(others.status).toBe(403);
    await conforms(others, "post", "/mailboxes");
  });
});
