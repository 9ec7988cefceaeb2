// The provider's redirect back, at its edges: it never answers JSON to the browser, and it never
// carries text into the app (a crafted link can't put its words on the Mailboxes screen).
import { describe, expect, it } from "vitest";
import { makeTeam, sessionFor } from "../fixtures";
import { call, client, ok } from "../helpers";
import { CONNECT_ERRORS } from "../../worker/services/mailbox-connect";

const location = (res: Response) => new URL(res.headers.get("location")!, "http://x");

describe("the sign-in callback", () => {
  it("with an expired session goes to the sign-in page, with the way back to Mailboxes, not a JSON 401", async () => {
    const res = await call(`/api/oauth/google/callback?code=x&state=y`, { headers: { cookie: "sf_session=expired" }, redirect: "manual" });
    expect(res.status).toBe(302);
    const to = location(res);
    expect(to.pathname).toBe("/login");
    expect(to.searchParams.get("next")).toBe("/mailboxes?connect_error=session_expired");
    // Other API calls still answer 401 in JSON.
    expect((await call(`/api/mailboxes`, { headers: { cookie: "sf_session=expired" } })).status).toBe(401);
  });

  it("checks its state before a provider error, and carries only a code from a closed list", async () => {
    const { teamId, userId } = await makeTeam();
    const s = await sessionFor(teamId, userId);
    const crafted = await call(
      `/api/oauth/google/callback?error=access_denied&error_description=${encodeURIComponent("Your account is locked, call +1 555 0100")}`,
      { headers: { cookie: s.cookie }, redirect: "manual" },
    );
    expect(location(crafted).search).toBe("?connect_error=expired");
    // With our state, the provider's error is said by its code, never its description.
    const start = await ok(client(s).api.oauth[":provider"].start.$post({ param: { provider: "google" }, json: {} }));
    const state = new URL(start.url).searchParams.get("state")!;
    for (const [error, code] of [
      ["access_denied", "denied"],
      ["server_error", "provider_error"],
    ]) {
      const res = await call(
        `/api/oauth/google/callback?state=${encodeURIComponent(state)}&error=${error}&error_description=${encodeURIComponent("Call +1 555 0100")}`,
        { headers: { cookie: s.cookie }, redirect: "manual" },
      );
      expect(location(res).search).toBe(`?connect_error=${code}`);
      expect(CONNECT_ERRORS).toContain(code);
    }
    expect(location(await call(`/api/oauth/nope/callback`, { headers: { cookie: s.cookie }, redirect: "manual" })).search).toBe(
      "?connect_error=unknown_provider",
    );
  });
});
