// Vitest global setup (runs in Node, once per run): starts the real SMTP servers the transport tests
// talk to from inside workerd, and hands their addresses to the tests via provide()/inject("smtp").
import type { TestProject } from "vitest/node";
import { startSmtpFixtures, type SmtpFixtureInfo } from "./fixtures/smtp-servers.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    smtp: SmtpFixtureInfo;
  }
}

let stop: (() => Promise<void>) | undefined;

export async function setup({ provide }: Pick<TestProject, "provide">): Promise<void> {
  const fixtures = await startSmtpFixtures();
  stop = fixtures.stop;
  provide("smtp", fixtures.info);
}

export async function teardown(): Promise<void> {
  await stop?.();
  stop = undefined;
}
