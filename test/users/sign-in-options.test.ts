// The sign-in page lists the demo accounts (and their shared password) only where they exist: a local
// server, the one place the demo workspace is seeded. A deployment's page must not offer them.
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { call, env } from "../helpers";

const options = async (appEnv: string) =>
  // Raw app.request on purpose: the point is the server's APP_ENV.
  (await (await app.request("/api/auth/options", {}, { ...env, APP_ENV: appEnv })).json()) as { demo_accounts: boolean };

describe("sign-in options", () => {
  it("offer the demo accounts on a local server only", async () => {
    expect(await options("local")).toEqual({ demo_accounts: true });
    expect(await options("production")).toEqual({ demo_accounts: false });
    expect(await options("test")).toEqual({ demo_accounts: false });
  });

  it("are public: no session or key needed", async () => {
    const res = await call("/api/auth/options");
    expect(res.status).toBe(200);
  });
});
