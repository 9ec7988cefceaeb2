// remove_or_stop_contact_ids over several campaigns acts on all of them or on none: a campaign that
// can't be acted on (another team's, unknown) answers its error before any contact is changed.
import { beforeEach, describe, expect, it } from "vitest";
import { resetClock } from "../../worker/lib/clock";
import { addContactsSetup, makeContacts } from "../fixtures";
import { call, env, errorOf } from "../helpers";
import { masterKey } from "./apollo-key";

const BASE = "/apollo/api/v1";

const post = (key: string, path: string, body: unknown) =>
  call(`${BASE}${path}`, { method: "POST", headers: { "x-api-key": key, "content-type": "application/json" }, body: JSON.stringify(body) });

beforeEach(() => resetClock());

describe("Apollo remove_or_stop_contact_ids", () => {
  it("changes nothing when one of the campaigns is another team's or unknown", async () => {
    const x = await addContactsSetup();
    const key = await masterKey(x.teamId, x.userId);
    const other = await addContactsSetup();
    const ids = await makeContacts(x.teamId, 2);
    expect((await post(key, `/emailer_campaigns/${x.sequenceId}/add_contact_ids`, { contact_ids: ids })).status).toBe(200);
    for (const bad of [other.sequenceId, "0123456789abcdef01234567"]) {
      const err = await errorOf(
        await post(key, "/emailer_campaigns/remove_or_stop_contact_ids", {
          emailer_campaign_ids: [x.sequenceId, bad],
          contact_ids: ids,
          mode: "remove",
        }),
      );
      expect(err).toMatchObject({ status: 404, code: "not_found" });
    }
    const statuses = await env.DB.prepare("SELECT status FROM enrollments WHERE sequence_id = ?")
      .bind(x.sequenceId)
      .all<{ status: string }>();
    expect(statuses.results.map((r) => r.status)).toEqual(["active", "active"]);
    // The same request without the bad campaign does it, and is audited.
    expect(
      (
        await post(key, "/emailer_campaigns/remove_or_stop_contact_ids", {
          emailer_campaign_ids: [x.sequenceId],
          contact_ids: ids,
          mode: "remove",
        })
      ).status,
    ).toBe(200);
    const after = await env.DB.prepare("SELECT status FROM enrollments WHERE sequence_id = ?").bind(x.sequenceId).all<{ status: string }>();
    expect(after.results.map((r) => r.status)).toEqual(["removed", "removed"]);
    const audited = await env.DB.prepare("SELECT action, target_id FROM audit_log WHERE team_id = ? AND action LIKE 'apollo.%'")
      .bind(x.teamId)
      .all();
    expect(audited.results).toEqual([{ action: "apollo.remove", target_id: x.sequenceId }]);
  });
});
