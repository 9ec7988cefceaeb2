// An add racing a DELETE of its sequence: the sequence passes its access check, then is deleted before
// the add reads its config (the review saw 2 races in 6 answer 500 "Cannot read properties of undefined
// (reading 'steps')" at configFromRow). The add must answer 404 as for any sequence not found.
import { describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import type { Caller } from "../../worker/env";
import { ApiError } from "../../worker/lib/errors";
import { checkPreconditions } from "../../worker/services/add-contacts/plan";
import { AddContactsRequest } from "../../worker/services/add-contacts/request";
import { addContactsSetup, makeContacts } from "../fixtures";
import { env } from "../helpers";

describe("an add whose sequence is deleted after its access check", () => {
  it("answers 404 Sequence not found, not a TypeError", async () => {
    const x = await addContactsSetup();
    const ids = await makeContacts(x.teamId, 1);
    const caller: Caller = { teamId: x.teamId, userId: x.userId, role: "admin", via: "session" };
    // The access check reads one row; the config, mailboxes and lists are then read in one batch: the
    // DELETE lands just before that batch, as the racing request's would.
    let deleted = false;
    const racing = new Proxy(env.DB, {
      get(t, k) {
        if (k === "batch")
          return async (stmts: D1PreparedStatement[]) => {
            // The config's batch (config, mailboxes, templates: three statements or more), not the access check's.
            if (!deleted && stmts.length >= 3) {
              deleted = true;
              await t.batch([
                t.prepare("DELETE FROM steps WHERE sequence_id = ?").bind(x.sequenceId),
                t.prepare("DELETE FROM sequences WHERE id = ?").bind(x.sequenceId),
              ]);
            }
            return t.batch(stmts);
          };
        const v: unknown = Reflect.get(t, k);
        return typeof v === "function" ? v.bind(t) : v;
      },
    });
    const req = AddContactsRequest.parse({ source: { contact_ids: ids }, mailbox_ids: x.mailboxIds });
    const err = await checkPreconditions(db(racing), caller, x.sequenceId, req).then(
      () => null,
      (e: unknown) => e,
    );
    expect(deleted).toBe(true);
    expect(err).toBeInstanceOf(ApiError);
    expect({ code: (err as ApiError).code, status: (err as ApiError).status, message: (err as ApiError).message }).toEqual({
      code: "not_found",
      status: 404,
      message: "Sequence not found",
    });
  });
});
