import { describe, expect, it } from "vitest";
import {
  TEMPLATE_VARIABLES,
  findUnknownVariables,
  missingValues,
  renderSubject,
  renderTemplate,
  validateTemplate,
  type TemplateContext,
} from "../../worker/services/templates";

// Tue 2026-03-03 03:00 UTC: still Monday evening in New York, Tuesday in London.
const NOW = Date.parse("2026-03-03T03:00:00Z");
const ctx = (over: Partial<TemplateContext["contact"]> = {}, rest: Partial<Omit<TemplateContext, "contact">> = {}): TemplateContext => ({
  contact: {
    firstName: "Ada",
    lastName: "Lovelace",
    company: "Analytical Engines",
    title: "CTO",
    email: "ada@engines.test",
    city: "London",
    country: "United Kingdom",
    ...over,
  },
  sender: { name: "Grace Brewster Hopper" },
  now: NOW,
  timeZone: "America/New_York",
  ...rest,
});

describe("renderTemplate", () => {
  it("fills every variable from the contact, the sender and the clock", () => {
    const text =
      "{{first_name}}|{{last_name}}|{{full_name}}|{{company}}|{{title}}|{{email}}|{{city}}|{{country}}|{{sender_name}}|{{sender_first_name}}|{{day_of_week}}";
    expect(renderTemplate(text, ctx())).toBe(
      "Ada|Lovelace|Ada Lovelace|Analytical Engines|CTO|ada@engines.test|London|United Kingdom|Grace Brewster Hopper|Grace|Monday",
    );
  });

  it("reads day_of_week in the given zone", () => {
    expect(renderTemplate("{{day_of_week}}", ctx({}, { timeZone: "Europe/London" }))).toBe("Tuesday");
    expect(renderTemplate("{{day_of_week}}", ctx({}, { timeZone: "Not/AZone" }))).toBe("Tuesday"); // UTC fallback
  });

  it("tolerates whitespace inside the braces and any letter case", () => {
    expect(renderTemplate("Hi {{ First_Name }}, {{COMPANY}} and {{  full_name  }}", ctx())).toBe(
      "Hi Ada, Analytical Engines and Ada Lovelace",
    );
  });

  it("uses the fallback when the value is empty, null or blank", () => {
    for (const firstName of ["", null, undefined, "   "]) {
      expect(renderTemplate("Hi {{first_name|there}},", ctx({ firstName }))).toBe("Hi there,");
    }
    expect(renderTemplate("Hi {{ first_name | my friend }},", ctx({ firstName: null }))).toBe("Hi my friend,");
    expect(renderTemplate("Hi {{first_name|there}},", ctx())).toBe("Hi Ada,");
  });

  it("renders a variable with no value and no fallback as empty text", () => {
    expect(renderTemplate("[{{title}}]", ctx({ title: null }))).toBe("[]");
    expect(renderTemplate("[{{full_name}}]", ctx({ firstName: null, lastName: "Lovelace" }))).toBe("[Lovelace]");
  });

  it("trims values and leaves text without variables untouched", () => {
    expect(renderTemplate("{{company}}!", ctx({ company: "  Acme  " }))).toBe("Acme!");
    expect(renderTemplate("Price: {100} {{ not closed", ctx())).toBe("Price: {100} {{ not closed");
  });

  it("renders an unknown variable as its fallback, or empty, without throwing", () => {
    expect(renderTemplate("a{{nickname}}b{{nickname|pal}}c", ctx())).toBe("abpalc");
  });

  it("does not throw on a partial context", () => {
    expect(
      renderTemplate("{{first_name|there}} {{sender_first_name}}", { now: Number.NaN, timeZone: "" } as unknown as TemplateContext),
    ).toBe("there ");
  });
});

describe("renderSubject", () => {
  it("keeps the subject on one line even when values bring line breaks", () => {
    expect(renderSubject("Idea for {{company}}\r\nteam", ctx({ company: "Acme\r\nBcc: x@y.test" }))).toBe(
      "Idea for Acme Bcc: x@y.test team",
    );
  });
});

describe("missingValues", () => {
  it("lists variables that would render empty and have no fallback, once each", () => {
    const c = ctx({ title: "", city: null });
    expect(missingValues("{{title}} in {{City}} ({{city}}), {{title|role}}, {{first_name}}", c)).toEqual(["title", "city"]);
  });

  it("is empty when every variable has a value or a fallback", () => {
    expect(missingValues("Hi {{first_name}} {{title|role}}", ctx({ title: null }))).toEqual([]);
  });
});

describe("findUnknownVariables", () => {
  it("returns unknown names as written, once each", () => {
    expect(findUnknownVariables("{{fist_name}} {{Fist_Name}} {{first_name}} {{ nickname | x }}")).toEqual(["fist_name", "nickname"]);
  });
});

describe("validateTemplate", () => {
  it("accepts a template using known variables with fallbacks", () => {
    expect(validateTemplate("Quick question, {{first_name|there}}", "Hi {{ First_Name }},\n\n{{sender_first_name}}")).toEqual([]);
  });

  it("reports unknown variables per field", () => {
    expect(validateTemplate("{{compnay}}", "{{fist_name}}")).toEqual([
      { field: "subject", message: "Unknown variable {{compnay}}: did you mean {{company}}?" },
      { field: "body", message: "Unknown variable {{fist_name}}: did you mean {{first_name}}?" },
    ]);
  });

  it("reports unbalanced braces", () => {
    expect(validateTemplate("Hi {{first_name", "")).toEqual([{ field: "subject", message: '"{{" at position 4 is not closed' }]);
    expect(validateTemplate("", "Hi first_name}}")).toEqual([{ field: "body", message: '"}}" at position 14 has no matching "{{"' }]);
    expect(validateTemplate("", "{{first_name {{company}}")).toEqual([
      { field: "body", message: '"{{" at position 1 is not closed before the next "{{"' },
    ]);
  });

  it("reports a tag that isn't a variable", () => {
    expect(validateTemplate("", "Hi {{first name}}")).toEqual([
      { field: "body", message: "{{first name}} is not a valid variable; write it like {{first_name}} or {{first_name|there}}" },
    ]);
  });

  it("refuses a multi-line subject", () => {
    expect(validateTemplate("Hello\nthere", "")).toEqual([{ field: "subject", message: "Subject must be a single line" }]);
  });
});

describe("TEMPLATE_VARIABLES", () => {
  it("lists every variable the renderer knows, each with a description", () => {
    expect(TEMPLATE_VARIABLES.map((v) => v.name)).toEqual([
      "first_name",
      "last_name",
      "full_name",
      "company",
      "title",
      "email",
      "city",
      "country",
      "sender_name",
      "sender_first_name",
      "day_of_week",
    ]);
    for (const v of TEMPLATE_VARIABLES) {
      expect(v.description.length).toBeGreaterThan(5);
      expect(findUnknownVariables(`{{${v.name}}}`)).toEqual([]);
    }
  });
});
