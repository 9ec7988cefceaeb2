// The sign-in page lists the demo accounts (and their shared password) only where they exist: a local
// server, the one place the demo workspace is seeded. A deployment's page must not offer them.
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app";
import { call, env } from "../helpers";

const options = async (appEnv: string) =>
  // Raw app.request on purpose: the point is the server's APP_ENV.
  (await (await app.request("/api/auth/options", {}, { ...env, APP_ENV: appEnv })).json()) as {
    demo_accounts: boolean;
    outbox_transport: boolean;
  };

describe("sign-in options", () => {
  it("offer the demo accounts on a local server only", async () => {
    expect(await options("local")).toMatchObject({ demo_accounts: true });
    expect(await options("production")).toMatchObject({ demo_accounts: false });
    expect(await options("test")).toMatchObject({ demo_accounts: false });
  });

  // The mailbox dialog offers the Outbox (test) transport only where the API takes it.
  it("offer the outbox transport on a local server and in tests, never deployed", async () => {
    expect(await options("local")).toMatchObject({ outbox_transport: true });
    expect(await options("test")).toMatchObject({ outbox_transport: true });
    expect(await options("production")).toMatchObject({ outbox_transport: false });
  });

  it("are public: no session or key needed", async () => {
    const res = await call("/api/auth/options");
    expect(res.status).toBe(200);
  });
});
