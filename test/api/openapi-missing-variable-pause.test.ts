import { describe, expect, it } from "vitest";
import { call } from "../helpers";

/**
 * The add-contacts preview's missing_variables[].pauses said such a contact "pauses at that step until it is
 * filled in", as if filling in the value let them go on: the engine keeps them paused until someone resumes them.
 */
describe("the API description of a missing variable's pause", () => {
  it("says the contact stays paused until the value is filled in and they are resumed", async () => {
    const doc = JSON.stringify(await (await call("/api/openapi.json")).json());
    const pauses = [...doc.matchAll(/"pauses":\{[^}]*"description":"([^"]*)"/g)].map((m) => m[1]);
    expect(pauses).toEqual([
      "Some use has no fallback: the email isn't sent to such a contact, who pauses at that step and stays paused until someone fills in the value and resumes them (filling it in alone doesn't)",
    ]);
  });
});
