// Types for the test runtime: `env` is the Worker's Env plus the migrations the config passes in;
// `exports` is the Worker's main module.
declare namespace Cloudflare {
  interface Env {
    TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
  }
  interface GlobalProps {
    mainModule: typeof import("../worker/index");
    durableNamespaces: "SequenceDO" | "MailboxDO" | "RateLimiterDO";
  }
}

// Vite's `?raw` imports: a file's text (the README, for tests that keep docs in step with code).
declare module "*?raw" {
  const text: string;
  export default text;
}
