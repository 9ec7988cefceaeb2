// A PATCH that read the import before its save started (the two raced) must not rewrite the mapping,
// reading or settings the save runs with: the write is guarded on the status and parts done it read.
import { describe, expect, it } from "vitest";
import { eq } from "drizzle-orm";
import { db } from "../../worker/db/client";
import { imports } from "../../worker/db/schema";
import type { Caller } from "../../worker/env";
import { ApiError } from "../../worker/lib/errors";
import { updateImport } from "../../worker/services/imports/imports";
import { client, env, ok } from "../helpers";
import { addContactsSetup } from "../fixtures";

describe("CSV imports: a settings change racing the save", () => {
  it("a PATCH read before the save started answers 409 and changes nothing the save runs with", async () => {
    const { s, teamId, userId } = await addContactsSetup();
    const api = client(s).api;
    const csv = "Email,First Name,Last Name\nana@x.io,Ana,A\n";
    const { import: up } = await ok(api.imports.$post({ form: { file: new File([csv], "race.csv") } }), 201);
    const d = db(env.DB);
    // The PATCH reads the import (uploaded)…
    const read = (await d.query.imports.findFirst({ where: eq(imports.id, up.id) }))!;
    // …the save starts…
    await ok(api.imports[":id"].save.$post({ param: { id: up.id } }), 202);
    const before = await env.DB.prepare("SELECT mapping, settings, delimiter, encoding, parts FROM imports WHERE id = ?")
      .bind(up.id)
      .first();
    // …then the PATCH writes.
    const caller: Caller = { teamId, userId, role: "admin", via: "session" };
    const refused = await updateImport(env, d, caller, read, {
      mapping: ["email", null, "last_name"],
      encoding: "windows-1252",
      settings: { match: "overwrite", list_name: "Late list" },
    }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(409);
    expect(
      await env.DB.prepare("SELECT mapping, settings, delimiter, encoding, parts FROM imports WHERE id = ?").bind(up.id).first(),
    ).toEqual(before);
  });
});
