// JSON Schema (the subset our OpenAPI document uses) → fast-check arbitraries: valid values,
// values with every array at its documented maximum, and values broken in exactly one place (a wrong
// type, a missing required field, one past a limit, a bad id). Ids are placeholders (IdRef/IdList),
// resolved per caller at send time, so one generated input means "an id of my team" or "a foreign id"
// whoever sends it.
import fc from "fast-check";
import type { Resource } from "./world";

export interface Schema {
  type?: string | string[];
  format?: string;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  items?: Schema;
  prefixItems?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  nullable?: boolean;
  default?: unknown;
  description?: string;
  [key: string]: unknown;
}
export type IdKind = "own" | "foreign" | "unknown" | "empty" | "long";

/** One id of `res`: `pick` chooses which. */
export class IdRef {
  constructor(
    readonly res: Resource,
    readonly kind: IdKind,
    readonly pick: number,
  ) {}
}

/** `n` ids of `res` (own ids repeat when the team has fewer: repeated ids are a case too). */
export class IdList {
  constructor(
    readonly res: Resource,
    readonly kind: "own" | "unknown" | "foreign" | "mixed",
    readonly n: number,
    readonly pick: number,
  ) {}
}

/** Body and query fields that carry ids, by name. */
export const ID_FIELDS: Record<string, Resource> = {
  owner_id: "users",
  user_id: "users",
  stage_id: "stages",
  contact_stage_id: "stages",
  contact_stage_ids: "stages",
  schedule_id: "schedules",
  sequence_id: "sequences",
  emailer_campaign_id: "sequences",
  emailer_campaign_ids: "sequences",
  send_email_from_email_account_id: "mailboxes",
  mailbox_id: "mailboxes",
  mailbox_ids: "mailboxes",
  contact_id: "contacts",
  contact_ids: "contacts",
  people_ids: "people",
  list_ids: "lists",
  label_ids: "lists",
  enrollment_ids: "enrollments",
  step_ids: "steps",
};

/** How a value was broken: `type`, `required`, `bound` (past a limit), `enum`, `pattern` and `id` (a scalar id that is empty, unknown, foreign or too long) break it for certain; `format` depends on the checker; `id-list` are odd but possibly valid id arrays. */
export type Break = {
  cls: "type" | "required" | "bound" | "enum" | "pattern" | "format" | "id" | "id-list" | "root";
  at: string;
  what: string;
};

const ZONES = ["UTC", "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Sydney"];

/** Merges allOf (our schemas use it to add a description or a property set) into one schema. */
export function norm(s: Schema): Schema {
  if (!s.allOf) return s;
  const out: Schema = { ...s };
  delete out.allOf;
  for (const part of s.allOf.map(norm)) {
    for (const [k, v] of Object.entries(part)) {
      if (k === "properties") out.properties = { ...(out.properties ?? {}), ...(v as object) };
      else if (k === "required") out.required = [...(out.required ?? []), ...(v as string[])];
      else if (!(k in out)) out[k] = v;
    }
  }
  return out;
}

function typesOf(s: Schema): string[] {
  if (Array.isArray(s.type)) return s.type;
  if (s.type) return [s.type];
  if (s.properties || s.additionalProperties) return ["object"];
  if (s.items || s.prefixItems) return ["array"];
  return [];
}

const text = (min: number, max: number) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.string({ minLength: min, maxLength: Math.min(max, Math.max(min, 24)) }) },
    { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: min, maxLength: Math.min(max, Math.max(min, 12)) }) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom("' OR 1=1 --", "%", "_", "{{first_name}}", "<script>x</script>", "\u0000", "😀", "Ünïcødé")
        .filter((x) => x.length >= min && x.length <= max),
    },
  );

const idRef = (res: Resource) => fc.nat({ max: 10_000 }).map((pick) => new IdRef(res, "own", pick));

const windowsArb = fc.dictionary(
  fc.constantFrom("1", "2", "3", "4", "5", "6", "7"),
  fc.constantFrom(
    [["09:00", "17:00"]],
    [
      ["08:00", "12:00"],
      ["13:00", "18:30"],
    ],
    [],
  ),
  { minKeys: 1, maxKeys: 7 },
);
const dateArb = fc
  .integer({ min: 2024, max: 2030 })
  .chain((y) => fc.tuple(fc.constant(y), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 })))
  .map(([y, m, d]) => `${y}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`);

/** A valid value of `s` (field `name`); `max`: every array at its documented maximum, every optional field present. */
export function valid(s0: Schema, name = "", max = false): fc.Arbitrary<unknown> {
  const s = norm(s0);
  if (s.enum) return fc.constantFrom(...s.enum);
  if (s.const !== undefined) return fc.constant(s.const);
  const types = typesOf(s);
  if (types.includes("null") && types.length > 1) {
    const inner = valid({ ...s, type: types.filter((t) => t !== "null") }, name, max);
    return max ? inner : fc.oneof({ weight: 4, arbitrary: inner }, { weight: 1, arbitrary: fc.constant(null) });
  }
  const t = types[0];
  if (t === "string") {
    if (ID_FIELDS[name]) return idRef(ID_FIELDS[name]!);
    if (name === "time_zone") return fc.constantFrom(...ZONES);
    if (s.format === "email" || name === "email" || name === "to") return fc.nat({ max: 1e6 }).map((n) => `walker${n}@example.test`);
    if (s.format === "uri") return fc.nat({ max: 1e6 }).map((n) => `https://example.test/in/${n}`);
    if (s.pattern === "^\\d{4}-\\d{2}-\\d{2}$") return dateArb;
    if (name === "password") return fc.constant("demo1234");
    const min = s.minLength ?? 0;
    const mx = s.maxLength ?? 200;
    return max ? fc.constant("x".repeat(mx)) : text(min, mx);
  }
  if (t === "integer" || t === "number") {
    const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : -1_000_000);
    const mx = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : Number.MAX_SAFE_INTEGER);
    if (max) return fc.constant(mx);
    return fc.oneof(fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(mx, 2 ** 31 - 1) }), fc.constantFrom(min, mx));
  }
  if (t === "boolean") return fc.boolean();
  if (t === "array") {
    if (s.prefixItems) return fc.tuple(...s.prefixItems.map((p: Schema) => valid(p, name, max)));
    const min = s.minItems ?? 0;
    const mx = s.maxItems ?? 10_000;
    const res = ID_FIELDS[name];
    if (res) {
      if (max) return fc.nat({ max: 10_000 }).map((pick) => new IdList(res, "own", mx, pick));
      return fc.array(idRef(res), { minLength: min, maxLength: Math.max(min, Math.min(mx, 5)) });
    }
    if (max) return fc.array(valid(s.items ?? {}, name), { minLength: mx, maxLength: mx });
    return fc.array(valid(s.items ?? {}, name), { minLength: min, maxLength: Math.max(min, Math.min(mx, 4)) });
  }
  if (t === "object") {
    if (name === "windows") return windowsArb;
    const props: Record<string, fc.Arbitrary<unknown>> = {};
    for (const [k, v] of Object.entries<Schema>(s.properties ?? {})) props[k] = valid(v, k, max);
    if (!Object.keys(props).length && s.additionalProperties)
      return fc.dictionary(fc.string({ maxLength: 8 }), valid(s.additionalProperties === true ? {} : s.additionalProperties, name), {
        maxKeys: 3,
      });
    return fc.record(props, { requiredKeys: max ? Object.keys(props) : (s.required ?? []).filter((k: string) => k in props) });
  }
  return fc.anything({ maxDepth: 1 });
}

/** Every way to break `v` (valid for `s`) in one place, as [break, value with the break]. */
function breaks(s0: Schema, v: unknown, name: string, at: string, pick: number): [Break, () => unknown][] {
  const s = norm(s0);
  const out: [Break, () => unknown][] = [];
  const types = typesOf(s);
  const add = (cls: Break["cls"], what: string, val: () => unknown) => out.push([{ cls, at: at || "(body)", what }, val]);
  if (!types.includes("null")) add("type", "null", () => null);
  if (s.enum) add("enum", "not one of the values", () => "not-a-valid-choice");
  const t = types.find((x) => x !== "null");
  if (t === "string" && !s.enum) {
    add("type", "a number", () => 12345);
    add("type", "an object", () => ({ nested: true }));
    if (ID_FIELDS[name]) {
      for (const kind of ["empty", "foreign", "unknown", "long"] as const)
        add("id", `${kind} id`, () => new IdRef(ID_FIELDS[name]!, kind, pick));
    } else {
      const maxLength = s.maxLength;
      if (maxLength !== undefined) add("bound", `${maxLength + 1} characters`, () => "y".repeat(maxLength + 1));
      if (s.minLength) add("bound", "empty", () => "");
      if (s.pattern) add("pattern", "off the pattern", () => "2024-13-45x");
      if (s.format) add("format", `not a ${s.format}`, () => "not an address");
    }
  }
  if (t === "integer" || t === "number") {
    add("type", "a string", () => "12");
    const { maximum, minimum } = s;
    if (maximum !== undefined) add("bound", `${maximum + 1}`, () => maximum + 1);
    if (minimum !== undefined) add("bound", `${minimum - 1}`, () => minimum - 1);
    if (t === "integer") add("type", "a fraction", () => 1.5);
    if (s.maximum !== undefined) add("bound", "1e308", () => 1e308);
    if (s.minimum !== undefined) add("bound", "-1e308", () => -1e308);
    if (s.maximum === undefined) add("format", "a huge number", () => 1e308);
  }
  if (t === "boolean") add("type", 'the string "true"', () => "true");
  if (t === "array" && Array.isArray(v)) {
    add("type", "a string", () => "not-an-array");
    const res = ID_FIELDS[name];
    if (s.maxItems !== undefined) {
      const n = s.maxItems + 1;
      add("bound", `${n} items (documented maximum ${s.maxItems})`, () =>
        res
          ? new IdList(res, "own", n, pick)
          : Array.from({ length: n }, (_, i) => v[i % Math.max(1, v.length)] ?? sample(s.items ?? {}, name, i)),
      );
    }
    if (s.minItems) add("bound", "no items", () => []);
    if (res) {
      add("id-list", "empty ids", () => ["", ""]);
      add("id-list", "foreign ids", () => new IdList(res, "foreign", 3, pick));
      add("id-list", "repeated ids (2,000 times the same)", () =>
        Array.from({ length: Math.min(2000, s.maxItems ?? 2000) }, () => new IdRef(res, "own", pick)),
      );
    }
    if (v.length && !s.prefixItems) {
      // One odd id among many is a bulk call's business (it may skip it and say so): not a certain break.
      for (const [b, val] of breaks(s.items ?? {}, v[0], name, `${at}[0]`, pick))
        out.push([b.cls === "id" ? { ...b, cls: "id-list" } : b, () => [val(), ...v.slice(1)]]);
    }
  }
  if (t === "object" && v && typeof v === "object" && !Array.isArray(v)) {
    add("type", "an array", () => [v]);
    add("type", "a string", () => "not-an-object");
    const o = v as Record<string, unknown>;
    for (const k of s.required ?? [])
      if (k in o) add("required", `without ${k}`, () => Object.fromEntries(Object.entries(o).filter(([kk]) => kk !== k)));
    for (const [k, ps] of Object.entries<Schema>(s.properties ?? {})) {
      if (!(k in o)) continue;
      for (const [b, val] of breaks(ps, o[k], k, at ? `${at}.${k}` : k, pick)) out.push([b, () => ({ ...o, [k]: val() })]);
    }
  }
  return out;
}

/** A plain sample value of a schema (to fill arrays past their maximum). */
function sample(s: Schema, name: string, seed: number): unknown {
  return fc.sample(valid(s, name), { seed, numRuns: 1 })[0];
}

/** A value of `s` broken in exactly one place, with what was broken. */
export function broken(s: Schema): fc.Arbitrary<{ value: unknown; broke: Break }> {
  return fc.tuple(valid(s), fc.nat(), fc.nat({ max: 10_000 })).map(([v, which, pick]) => {
    const options = breaks(s, v, "", "", pick);
    if (!options.length) return { value: v, broke: { cls: "root" as const, at: "(body)", what: "nothing to break" } };
    const [b, val] = options[which % options.length]!;
    return { value: val(), broke: b };
  });
}
