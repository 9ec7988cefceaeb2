// A token refresh that started before a reconnect neither overwrites the reconnect's tokens nor marks the
// just-reconnected mailbox "needs reconnect": its writes compare the sealed tokens they read
// (worker/services/mailbox-auth.ts). The reconnect lands while the refresh is at the provider's token endpoint.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { now } from "../../worker/lib/clock";
import { db } from "../../worker/db/client";
import { accessTokenFor } from "../../worker/services/mailbox-auth";
import { loadMailbox } from "../../worker/transports/mailbox-settings";
import { openTokens, sealTokens } from "../../worker/transports/oauth";
import { HOUR, startSimulation } from "../fixtures";
import { env } from "../helpers";
import { control, expireIn, mailboxRow, teamWith } from "./oauth-sign-in";

const realFetch = globalThis.fetch;

/** The next request to the token endpoint first lets `reconnect` write the mailbox's new sign-in. */
function reconnectDuringRefresh(reconnect: () => Promise<unknown>) {
  let fired = false;
  globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!fired && url === env.GOOGLE_TOKEN_URL) {
      fired = true;
      await reconnect();
    }
    return realFetch(input, init);
  };
}

describe("a token refresh racing a reconnect", () => {
  beforeEach(() => startSimulation());
  afterEach(() => {
    globalThis.fetch = realFetch;
  });

  async function racing() {
    const w = await teamWith("google");
    await expireIn(w.mailboxId, 0);
    const fresh = await sealTokens(env, { refreshToken: "reconnected-rt", accessToken: "reconnected-at", expiresAt: now() + HOUR });
    reconnectDuringRefresh(() =>
      env.DB.prepare("UPDATE mailboxes SET secret_ciphertext = ?, status = 'connected', status_reason = NULL WHERE id = ?")
        .bind(fresh, w.mailboxId)
        .run(),
    );
    const mb = (await loadMailbox(db(env.DB), w.mailboxId))!;
    return { ...w, fresh, token: () => accessTokenFor(env, mb, { notifyDO: false }) };
  }

  it("a refresh that succeeds after a reconnect leaves the reconnect's tokens stored", async () => {
    const w = await racing();
    expect(await w.token()).toMatchObject({ ok: true });
    const stored = (await mailboxRow(w.mailboxId))!.secret_ciphertext!;
    expect(stored).toBe(w.fresh);
    expect((await openTokens(env, stored)).refreshToken).toBe("reconnected-rt");
  });

  it("a refresh refused (invalid_grant) for the old sign-in doesn't mark the just-reconnected mailbox 'needs reconnect'", async () => {
    const w = await racing();
    // The old grant is revoked: the refresh that started before the reconnect gets invalid_grant.
    await control("revoke", { account: w.account });
    expect(await w.token()).toMatchObject({ ok: true, accessToken: "reconnected-at" });
    expect(await mailboxRow(w.mailboxId)).toMatchObject({ status: "connected", status_reason: null, secret_ciphertext: w.fresh });
    const audit = await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE target_id = ? AND action = 'mailbox.needs_reconnect'")
      .bind(w.mailboxId)
      .first<{ n: number }>();
    expect(audit!.n).toBe(0);
  });

  it("without a reconnect, a revoked grant is still found lost", async () => {
    const w = await teamWith("google");
    await expireIn(w.mailboxId, 0);
    await control("revoke", { account: w.account });
    const mb = (await loadMailbox(db(env.DB), w.mailboxId))!;
    expect(await accessTokenFor(env, mb, { notifyDO: false })).toMatchObject({ ok: false, revoked: true });
    expect(await mailboxRow(w.mailboxId)).toMatchObject({ status: "needs_reconnect" });
  });
});
