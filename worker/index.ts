// The entry file only composes: the HTTP app, the queue consumer, the cron and email handlers and the Durable Objects.
import { app } from "./app";
import { runCron } from "./cron";
import { handleInbound } from "./inbound";
import type { Env } from "./env";
import { consumeQueue } from "./queue/consumer";
import type { QueueMessage } from "./queue/messages";

export { SequenceDO } from "../durable-objects/sequence-do";
export { MailboxDO } from "../durable-objects/mailbox-do";
export { RateLimiterDO } from "../durable-objects/rate-limiter-do";

export default {
  fetch: app.fetch,
  queue: (batch, env) => consumeQueue(batch, env),
  scheduled: (controller, env, ctx) => ctx.waitUntil(runCron(controller, env)),
  // Email Routing: replies, out-of-office answers and bounces to the sending addresses.
  email: async (message, env) => {
    await handleInbound(env, await new Response(message.raw).arrayBuffer(), message.to);
  },
} satisfies ExportedHandler<Env, QueueMessage>;
