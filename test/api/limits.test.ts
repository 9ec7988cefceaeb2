/// <reference types="vite/client" />
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { newId } from "../../worker/lib/ids";
import { call, client, env, errorOf, fieldsOf, ok, type Session } from "../helpers";
import { addContactsSetup, enroll, makeContacts, makeList } from "../fixtures";
import { MAX_STEPS_PER_SEQUENCE } from "../../worker/services/steps";

/** The parts of Apollo's answers these tests read (the facade is not in AppType). */
interface ApolloAnswer {
  pagination: { total_entries: number };
  contacts: unknown[];
  emailer_campaigns: { id: string }[];
}
const apolloBody = async (r: Response) => (await r.json()) as ApolloAnswer;
const api = (s: Session) => client(s).api;

/** A master and a standard key for a team, made the way an admin makes them. */
export async function keysFor(teamId: string, userId: string) {
  const { sha256Hex } = await import("../../worker/lib/crypto");
  const master = `m-${crypto.randomUUID()}`;
  const standard = `s-${crypto.randomUUID()}`;
  for (const [k, kind] of [
    [master, "master"],
    [standard, "standard"],
  ] as const) {
    await env.DB.prepare(
      "INSERT INTO api_keys (id, team_id, created_by, name, kind, key_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
    )
      .bind(crypto.randomUUID(), teamId, userId, kind, kind, await sha256Hex(k), k.slice(0, 9))
      .run();
  }
  return { master, standard };
}

const apollo = (key: string, path: string, body: unknown) =>
  call(`/apollo/api/v1${path}`, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

beforeEach(() => resetClock());

describe("lists longer than D1's 100 bound parameters", () => {
  it("pauses 150 enrollments in one request, and answers 404 (not 500) for the documented maximum of 1,000 ids", async () => {
    const x = await addContactsSetup();
    const contacts = await makeContacts(x.teamId, 150);
    await enroll(x.teamId, x.sequenceId, contacts, x.mailboxIds);
    const ids = (
      await env.DB.prepare("SELECT id FROM enrollments WHERE sequence_id = ?").bind(x.sequenceId).all<{ id: string }>()
    ).results.map((r) => r.id);
    expect(ids).toHaveLength(150);

    const act = api(x.s).sequences[":id"].enrollments[":action"];
    const res = await ok(act.$post({ param: { id: x.sequenceId, action: "pause" }, json: { enrollment_ids: ids } }));
    expect(res.changed).toHaveLength(150);
    const paused = await env.DB.prepare("SELECT count(*) AS n FROM enrollments WHERE sequence_id = ? AND status = 'paused'")
      .bind(x.sequenceId)
      .first<{ n: number }>();
    expect(paused!.n).toBe(150);

    const atMax = [...ids, ...Array.from({ length: 1000 - ids.length }, () => newId())];
    const resume = { id: x.sequenceId, action: "resume" } as const;
    const err = await errorOf(await act.$post({ param: resume, json: { enrollment_ids: atMax } }));
    expect(err).toMatchObject({ status: 404, code: "not_found" });
    const over = await errorOf(await act.$post({ param: resume, json: { enrollment_ids: [...atMax, newId()] } }));
    expect(over).toMatchObject({ status: 422, code: "validation_failed" });
  });

  it("finishes 1,000 enrollments (the documented maximum) in one request", async () => {
    const x = await addContactsSetup();
    const contacts = await makeContacts(x.teamId, 1000);
    await enroll(x.teamId, x.sequenceId, contacts, x.mailboxIds);
    const ids = (
      await env.DB.prepare("SELECT id FROM enrollments WHERE sequence_id = ?").bind(x.sequenceId).all<{ id: string }>()
    ).results.map((r) => r.id);
    expect(ids).toHaveLength(1000);
    const res = await ok(
      api(x.s).sequences[":id"].enrollments[":action"].$post({
        param: { id: x.sequenceId, action: "finish" },
        json: { enrollment_ids: ids },
      }),
    );
    expect(res.changed).toHaveLength(1000);
    const finished = await env.DB.prepare("SELECT count(*) AS n FROM enrollments WHERE sequence_id = ? AND status = 'finished'")
      .bind(x.sequenceId)
      .first<{ n: number }>();
    expect(finished!.n).toBe(1000);
  });

  it("answers 422 naming the unknown users when shares list 200 of them (the documented maximum), never 500", async () => {
    const x = await addContactsSetup();
    const shares = Array.from({ length: 200 }, () => ({ user_id: newId(), access: "view" as const }));
    const err = await errorOf(await api(x.s).sequences[":id"].shares.$put({ param: { id: x.sequenceId }, json: { shares } }));
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(err)[0]!.field).toMatch(/shares/);
  });

  it("searches people (Apollo mixed_people/search) with 100 person_titles", async () => {
    const x = await addContactsSetup();
    const { master } = await keysFor(x.teamId, x.userId);
    const titles = ["Engineer", ...Array.from({ length: 99 }, (_, i) => `No Such Title ${i}`)];
    const res = await apollo(master, "/mixed_people/search", { person_titles: titles, per_page: 5 });
    expect(res.status).toBe(200);
    const body = await apolloBody(res);
    const expected = (await env.DB.prepare("SELECT count(*) AS n FROM people WHERE title LIKE '%Engineer%'").first<{ n: number }>())!.n;
    expect(body.pagination.total_entries).toBe(expected);
  });
});

describe("steps per sequence", () => {
  it("refuses a step beyond the cap of 50 (422), and nothing is written", async () => {
    const x = await addContactsSetup({ steps: Array.from({ length: MAX_STEPS_PER_SEQUENCE - 1 }, () => ({ wait: 1 })) });
    const steps = api(x.s).sequences[":id"].steps;
    const param = { id: x.sequenceId };
    const added = await ok(steps.$post({ param, json: { type: "call" } }), 201);
    expect(added.sequence.steps).toHaveLength(MAX_STEPS_PER_SEQUENCE);
    const err = await errorOf(await steps.$post({ param, json: { type: "call" } }));
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(err)[0]!.field).toBe("steps");
    const n = await env.DB.prepare("SELECT count(*) AS n FROM steps WHERE sequence_id = ?").bind(x.sequenceId).first<{ n: number }>();
    expect(n!.n).toBe(MAX_STEPS_PER_SEQUENCE);
  });

  it("still reads, clones and archives a sequence stored with more steps than 100 (written before the cap)", async () => {
    const x = await addContactsSetup({ steps: Array.from({ length: 101 }, () => ({ wait: 1 })) });
    const seq = api(x.s).sequences[":id"];
    const param = { id: x.sequenceId };
    const read = await ok(seq.$get({ param }));
    expect(read.sequence.steps).toHaveLength(101);
    const copy = (await ok(seq.clone.$post({ param, json: {} }), 201)).sequence;
    expect(copy.steps).toHaveLength(101);
    expect(copy.steps.every((s) => s.variants.length === 1)).toBe(true);
    const archived = await ok(seq.archive.$post({ param }));
    expect(archived.sequence.archived_at).not.toBeNull();
  });

  it("answers 422 'nothing to change' to an empty step update and leaves the step as it was", async () => {
    const x = await addContactsSetup();
    const before = await env.DB.prepare("SELECT * FROM steps WHERE id = ?").bind(x.stepIds[1]).first();
    const audits = async () =>
      (await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE team_id = ?").bind(x.teamId).first<{ n: number }>())!.n;
    const auditsBefore = await audits();
    const err = await errorOf(
      await api(x.s).sequences[":id"].steps[":stepId"].$patch({ param: { id: x.sequenceId, stepId: x.stepIds[1]! }, json: {} }),
    );
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(err.message).toMatch(/nothing to change/i);
    expect(await env.DB.prepare("SELECT * FROM steps WHERE id = ?").bind(x.stepIds[1]).first()).toEqual(before);
    expect(await audits()).toBe(auditsBefore);
  });
});

describe("every array has a documented maximum", () => {
  /** Paths (e.g. `POST /contacts body.list_names`) of request arrays without maxItems. */
  interface SchemaNode {
    $ref?: unknown;
    type?: unknown;
    maxItems?: unknown;
    prefixItems?: unknown;
    properties?: Record<string, unknown>;
    items?: unknown;
    additionalProperties?: unknown;
    anyOf?: unknown[];
    oneOf?: unknown[];
    allOf?: unknown[];
  }
  interface Operation {
    parameters?: { in: string; name: string; schema: unknown }[];
    requestBody?: { content?: Record<string, { schema: unknown }> };
  }
  interface OpenApiDoc {
    paths: Record<string, Record<string, Operation>>;
  }
  const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object";
  function unbounded(value: unknown, doc: OpenApiDoc, at: string, out: string[], seen = new Set<unknown>()) {
    if (!isObject(value) || seen.has(value)) return;
    const node: SchemaNode = value;
    seen.add(node);
    if (typeof node.$ref === "string")
      return unbounded(
        node.$ref
          .split("/")
          .slice(1)
          .reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), doc),
        doc,
        at,
        out,
        seen,
      );
    // A tuple (prefixItems) has a fixed length: zod refuses extra items.
    if (node.type === "array" && typeof node.maxItems !== "number" && !Array.isArray(node.prefixItems)) out.push(at);
    for (const [k, v] of Object.entries(node.properties ?? {})) unbounded(v, doc, `${at}.${k}`, out, seen);
    for (const k of ["items", "additionalProperties"] as const) if (node[k]) unbounded(node[k], doc, `${at}[]`, out, seen);
    for (const k of ["anyOf", "oneOf", "allOf"] as const) for (const v of node[k] ?? []) unbounded(v, doc, at, out, seen);
  }

  it("in the OpenAPI document: every request body and parameter array has maxItems", async () => {
    // A raw path on purpose: the document itself is what is checked.
    const doc = (await (await call("/api/openapi.json")).json()) as OpenApiDoc;
    const out: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const name = `${method.toUpperCase()} ${path}`;
        for (const p of op.parameters ?? []) unbounded(p.schema, doc, `${name} ${p.in}.${p.name}`, out);
        for (const media of Object.values(op.requestBody?.content ?? {})) unbounded(media.schema, doc, `${name} body`, out);
      }
    }
    expect(out).toEqual([]);
  });
});

describe("bounded input", () => {
  it("pages GET /api/lists like every other list", async () => {
    const x = await addContactsSetup();
    const lists = api(x.s).lists;
    for (let i = 0; i < 30; i++) await lists.$post({ json: { name: `List ${String(i).padStart(2, "0")}` } });
    const first = await ok(lists.$get({ query: {} }));
    expect(first.lists).toHaveLength(25);
    expect(first.pagination).toEqual({ page: 1, per_page: 25, total_entries: 30, total_pages: 2 });
    const second = await ok(lists.$get({ query: { page: "2", per_page: "25" } }));
    expect(second.lists.map((l) => l.name)).toEqual(["List 25", "List 26", "List 27", "List 28", "List 29"]);
    const found = await ok(lists.$get({ query: { q: "List 07" } }));
    expect(found.lists.map((l) => l.name)).toEqual(["List 07"]);
    expect((await errorOf(await lists.$get({ query: { per_page: "101" } }))).status).toBe(422);
  });

  it("refuses more than 20 label_names on a contact (REST and Apollo), creating no list", async () => {
    const x = await addContactsSetup();
    const { master } = await keysFor(x.teamId, x.userId);
    const names = Array.from({ length: 21 }, (_, i) => `Label ${i}`);
    const rest = await errorOf(await api(x.s).contacts.$post({ json: { first_name: "A", email: "a@example.test", list_names: names } }));
    expect(rest).toMatchObject({ status: 422, code: "validation_failed" });
    const ap = await errorOf(await apollo(master, "/contacts", { first_name: "B", email: "b@example.test", label_names: names }));
    expect(ap).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(ap)[0]!.field).toBe("label_names");
    const lists = await env.DB.prepare("SELECT count(*) AS n FROM lists WHERE team_id = ?").bind(x.teamId).first<{ n: number }>();
    expect(lists!.n).toBe(0);
    const created = await apollo(master, "/contacts", { first_name: "C", email: "c@example.test", label_names: names.slice(0, 20) });
    expect(created.status).toBe(200);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM lists WHERE team_id = ?").bind(x.teamId).first<{ n: number }>())!.n).toBe(20);
  });

  it("searches Apollo contacts with at most 100 label_ids (422 beyond, naming the field)", async () => {
    const x = await addContactsSetup();
    const { master } = await keysFor(x.teamId, x.userId);
    const ids = Array.from({ length: 100 }, () => newId());
    expect((await apollo(master, "/contacts/search", { label_ids: ids })).status).toBe(200);
    const err = await errorOf(await apollo(master, "/contacts/search", { label_ids: [...ids, newId()] }));
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(err)[0]!.field).toBe("label_ids");
  });

  it("treats repeated contact ids in remove_or_stop_contact_ids as one, and refuses more than 1,000 different ids", async () => {
    const x = await addContactsSetup();
    const { master } = await keysFor(x.teamId, x.userId);
    const [c1] = await makeContacts(x.teamId, 1);
    await enroll(x.teamId, x.sequenceId, [c1!], x.mailboxIds);
    const res = await apollo(master, "/emailer_campaigns/remove_or_stop_contact_ids", {
      emailer_campaign_ids: [x.sequenceId],
      contact_ids: Array(1000).fill(c1),
      mode: "mark_as_finished",
    });
    expect(res.status).toBe(200);
    expect((await apolloBody(res)).contacts).toHaveLength(1);
    const e = await env.DB.prepare("SELECT status FROM enrollments WHERE sequence_id = ? AND contact_id = ?")
      .bind(x.sequenceId, c1)
      .first<{ status: string }>();
    expect(e!.status).toBe("finished");
    // A repeat counts once against the 1,000 (as the README's limits say), so 1,001 copies are one id; 1,001 different ids are refused.
    expect(
      (
        await apollo(master, "/emailer_campaigns/remove_or_stop_contact_ids", {
          emailer_campaign_ids: [x.sequenceId],
          contact_ids: Array(1001).fill(c1),
          mode: "stop",
        })
      ).status,
    ).toBe(200);
    const err = await errorOf(
      await apollo(master, "/emailer_campaigns/remove_or_stop_contact_ids", {
        emailer_campaign_ids: [x.sequenceId],
        contact_ids: [c1!, ...Array.from({ length: 1000 }, (_, i) => `0${String(i).padStart(23, "0")}`)],
        mode: "stop",
      }),
    );
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(err)[0]!.field).toBe("contact_ids");
  });

  it("keeps the last access when shares name the same user twice", async () => {
    const x = await addContactsSetup();
    const other = (await env.DB.prepare(
      "INSERT INTO users (id, team_id, email, name, role, password_hash, created_at) VALUES (?, ?, ?, 'Other', 'member', 'x', 0) RETURNING id",
    )
      .bind(newId(), x.teamId, `${newId()}@sim.test`)
      .first<{ id: string }>())!.id;
    const shares = [
      ...Array.from({ length: 199 }, () => ({ user_id: other, access: "view" as const })),
      { user_id: other, access: "edit" as const },
    ];
    const res = await api(x.s).sequences[":id"].shares.$put({ param: { id: x.sequenceId }, json: { shares } });
    expect(res.status).toBe(200);
    const rows = (await env.DB.prepare("SELECT user_id, access FROM sequence_shares WHERE sequence_id = ?").bind(x.sequenceId).all())
      .results;
    expect(rows).toEqual([{ user_id: other, access: "edit" }]);
  });

  it("answers each enrollment once when the same id is repeated", async () => {
    const x = await addContactsSetup();
    const contacts = await makeContacts(x.teamId, 2);
    await enroll(x.teamId, x.sequenceId, contacts, x.mailboxIds);
    const ids = (
      await env.DB.prepare("SELECT id FROM enrollments WHERE sequence_id = ?").bind(x.sequenceId).all<{ id: string }>()
    ).results.map((r) => r.id);
    const body = await ok(
      api(x.s).sequences[":id"].enrollments[":action"].$post({
        param: { id: x.sequenceId, action: "pause" },
        json: { enrollment_ids: [...ids, ...ids, ...ids] },
      }),
    );
    expect(body.changed.sort()).toEqual([...ids].sort());
    expect(body.unchanged).toEqual([]);
  });
  it("counts a repeated id once in a workflow's mailbox_ids and trigger filters, and refuses one past 50 different ids naming the field", async () => {
    const x = await addContactsSetup();
    const [c] = await makeContacts(x.teamId, 1);
    const list = await makeList(x.teamId, x.userId, [c!]);
    const stage = `${x.teamId}-cold`;
    const [mb] = x.mailboxIds;
    const filters = { stage_ids: Array(51).fill(stage), owner_ids: Array(51).fill(x.userId), list_ids: Array(51).fill(list) };
    const json = { name: "Copies", sequence_id: x.sequenceId, mailbox_ids: Array(51).fill(mb!) };
    const { workflow } = await ok(
      api(x.s).workflows.$post({ json: { ...json, trigger: { kind: "change", on: ["stage"], filters } } }),
      201,
    );
    const row = await env.DB.prepare("SELECT options, trigger FROM workflows WHERE id = ?")
      .bind(workflow.id)
      .first<{ options: string; trigger: string }>();
    expect(JSON.parse(row!.options)).toMatchObject({ mailbox_ids: [mb] });
    expect(JSON.parse(row!.trigger)).toMatchObject({ filters: { stage_ids: [stage], owner_ids: [x.userId], list_ids: [list] } });
    const past = (first: string) => [first, ...Array.from({ length: 50 }, () => newId())];
    const created = await errorOf(await api(x.s).workflows.$post({ json: { ...json, mailbox_ids: past(mb!) } }));
    expect(created).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(created)).toEqual([expect.objectContaining({ field: "mailbox_ids", message: "Mailboxes can have at most 50 items" })]);
    const patched = await errorOf(
      await api(x.s).workflows[":id"].$patch({
        param: { id: workflow.id },
        json: { trigger: { kind: "change", on: ["stage"], filters: { list_ids: past(list) } } },
      }),
    );
    expect(patched).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(patched)).toEqual([expect.objectContaining({ field: "trigger.filters.list_ids" })]);
  });
});

describe("every array at its documented maximum answers without a 500", () => {
  it("REST: list members (10,000), contact stages (1,000), step reorder (100)", async () => {
    const x = await addContactsSetup();
    const contacts = await makeContacts(x.teamId, 120);
    const rest = api(x.s);
    const { list } = await ok(rest.lists.$post({ json: { name: "Max" } }), 201);
    const ids = [...contacts, ...Array.from({ length: 10_000 - contacts.length }, () => newId())];
    const members = rest.lists[":id"].members;
    const added = await ok(members.$post({ param: { id: list.id }, json: { contact_ids: ids } }));
    expect(added).toMatchObject({ added: 120 });
    expect((await errorOf(await members.$post({ param: { id: list.id }, json: { contact_ids: [...ids, newId()] } }))).status).toBe(422);

    const stage = `${x.teamId}-cold`;
    const staged = await ok(rest.contacts.stage.$post({ json: { contact_ids: ids.slice(0, 1000), stage_id: stage } }));
    expect(staged.updated).toBe(120);

    const reorder = await errorOf(
      await rest.sequences[":id"].steps.reorder.$post({
        param: { id: x.sequenceId },
        json: { step_ids: Array.from({ length: 100 }, () => newId()) },
      }),
    );
    expect(reorder).toMatchObject({ status: 422, code: "validation_failed" });
  });

  it("Apollo: update_stages and emailer_messages/search (1,000 contact ids, 100 campaigns), contacts/search (100 stages and labels), add_contact_ids (10,000)", async () => {
    const x = await addContactsSetup();
    const { master } = await keysFor(x.teamId, x.userId);
    const contacts = await makeContacts(x.teamId, 120);
    const thousand = [...contacts, ...Array.from({ length: 1000 - contacts.length }, () => newId())];
    const hundred = Array.from({ length: 100 }, () => newId());
    const staged = await apollo(master, "/contacts/update_stages", { contact_ids: thousand, contact_stage_id: `${x.teamId}-cold` });
    expect(staged.status).toBe(200);
    expect((await apolloBody(staged)).contacts).toHaveLength(120);
    // 100 campaign ids, 99 of them unknown: a 404 (an unknown or foreign sequence is not found),
    // not a 500 from D1's 100 bound parameters; the known one alone answers.
    const unknown = await apollo(master, "/emailer_messages/search", {
      contact_ids: thousand,
      emailer_campaign_ids: [x.sequenceId, ...hundred.slice(1)],
    });
    expect(unknown.status).toBe(404);
    expect((await apollo(master, "/emailer_messages/search", { contact_ids: thousand, emailer_campaign_ids: [x.sequenceId] })).status).toBe(
      200,
    );
    expect((await apollo(master, "/contacts/search", { contact_stage_ids: hundred, label_ids: hundred })).status).toBe(200);
    const many = [...contacts, ...Array.from({ length: 10_000 - contacts.length }, () => newId())];
    const add = await apollo(master, `/emailer_campaigns/${x.sequenceId}/add_contact_ids`, {
      emailer_campaign_id: x.sequenceId,
      contact_ids: many,
      send_email_from_email_account_id: x.mailboxIds[0],
    });
    expect(add.status).not.toBe(500);
    const over = await errorOf(
      await apollo(master, `/emailer_campaigns/${x.sequenceId}/add_contact_ids`, { contact_ids: [...many, newId()] }),
    );
    expect(over).toMatchObject({ status: 422, code: "validation_failed" });
  });
});

describe("the code keeps IN lists under D1's 100 bound parameters", () => {
  const sources = import.meta.glob(["../../worker/**/*.ts", "../../durable-objects/**/*.ts"], {
    query: "?raw",
    import: "default",
    eager: true,
  }) as Record<string, string>;

  it("never binds one parameter per value of a list from data (drizzle inArray over a variable, or '?' placeholders built from a list)", () => {
    expect(Object.keys(sources).length).toBeGreaterThan(20);
    // A fixed list written in the code (a few statuses) or a subquery binds a bounded number of
    // parameters; any list that comes from data must go through in-list.ts. Calls may span lines.
    const binding =
      /\b(?:not)?inArray\(\s*(?![^,()]+,\s*(?:\[\s*"[^\]]*\]\s*\)|d\s*\.select\())|\.map\(\(\) => "\?"\)|\.map\(\(\) => '\?'\)|\.fill\("\?"\)/g;
    const offenders = Object.entries(sources)
      .filter(([path]) => !path.endsWith("/db/in-list.ts"))
      .flatMap(([path, text]) =>
        [...text.matchAll(binding)].map(
          (m) => `${path}:${text.slice(0, m.index).split("\n").length}: ${text.slice(m.index, m.index + 80)}`,
        ),
      );
    expect(offenders).toEqual([]);
  });
});

describe("searches at their longest", () => {
  // D1 refuses LIKE patterns over 50 bytes ("LIKE or GLOB pattern too complex"): every text search
  // at its documented maximum length must still answer.
  it("REST: contacts (200 characters), sequences and lists (120), people titles (200)", async () => {
    const x = await addContactsSetup();
    const [c1] = await makeContacts(x.teamId, 1);
    const long = `${"Acme ".repeat(39)}Acme`.slice(0, 200);
    await env.DB.prepare("UPDATE contacts SET company = ? WHERE id = ?").bind(`The ${long} Group`, c1).run();
    const rest = api(x.s);
    const contacts = await ok(rest.contacts.$get({ query: { q: long } }));
    expect(contacts.contacts.map((c) => c.id)).toEqual([c1]);
    expect((await rest.sequences.$get({ query: { q: "s".repeat(120) } })).status).toBe(200);
    expect((await rest.lists.$get({ query: { q: "l".repeat(120) } })).status).toBe(200);
    const people = await ok(rest.people.search.$post({ json: { titles: ["t".repeat(200)] } }));
    expect(people.pagination.total_entries).toBe(0);
  });

  it("Apollo: sequences, users, contacts and people with 200-character keywords", async () => {
    const x = await addContactsSetup();
    const { master } = await keysFor(x.teamId, x.userId);
    const long = "x".repeat(200);
    for (const [path, body] of [
      ["/emailer_campaigns/search", { q_name: long, page: 500, per_page: 100 }],
      ["/users/search", { q_keywords: long }],
      ["/contacts/search", { q_keywords: long }],
      ["/mixed_people/search", { person_titles: [long] }],
    ] as const) {
      const res = await apollo(master, path, body);
      expect(res.status, path).toBe(200);
    }
    const found = await apolloBody(await apollo(master, "/emailer_campaigns/search", { q_name: "Seq" }));
    expect(found.emailer_campaigns.map((c) => c.id)).toEqual([x.sequenceId]);
  });
});

describe("Apollo ids are never empty", () => {
  // "" is how Apollo's clients leave a parameter unset (an empty form field, a search result sent back):
  // it is absent, never stored as an id. An id of spaces, or an empty id in a list, is refused.
  it("takes an empty owner_id as unset, refuses an id of spaces or an empty id in a list (422 naming the field), and stores no empty id", async () => {
    const x = await addContactsSetup();
    const { master } = await keysFor(x.teamId, x.userId);
    const contacts = async () =>
      (await env.DB.prepare("SELECT count(*) AS n FROM contacts WHERE team_id = ?").bind(x.teamId).first<{ n: number }>())!.n;
    const made = await apollo(master, "/contacts", { first_name: "A", owner_id: "" });
    expect(made.status).toBe(200);
    const { contact } = (await made.json()) as { contact: { id: string } };
    const row = await env.DB.prepare("SELECT owner_id FROM contacts WHERE id = ?").bind(contact.id).first<{ owner_id: string | null }>();
    expect(row!.owner_id).not.toBe("");
    const before = await contacts();
    const err = await errorOf(await apollo(master, "/contacts", { first_name: "B", contact_stage_id: " " }));
    expect(err).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(err)[0]!.field).toBe("contact_stage_id");
    expect(await contacts()).toBe(before);
    const stages = await errorOf(
      await apollo(master, "/contacts/update_stages", { contact_ids: [""], contact_stage_id: `${x.teamId}-cold` }),
    );
    expect(stages).toMatchObject({ status: 422, code: "validation_failed" });
    expect(fieldsOf(stages)[0]!.field).toMatch(/^contact_ids/);
    const stop = await errorOf(
      await apollo(master, "/emailer_campaigns/remove_or_stop_contact_ids", {
        emailer_campaign_ids: [x.sequenceId],
        contact_ids: ["x"],
        mode: "stop",
        user_id: " ",
      }),
    );
    expect(stop).toMatchObject({ status: 422, code: "validation_failed" });
  });
});
