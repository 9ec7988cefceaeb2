import type { Env } from "../env";
import type { QueueMessage } from "./messages";

/** Acks messages one by one so one bad message never redelivers its whole batch. */
export async function consumeQueue(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  for (const msg of batch.messages) {
    try {
      await handle(msg.body, env, batch.queue.endsWith("-dlq"));
      msg.ack();
    } catch (err) {
      console.error("queue message failed", msg.id, err);
      msg.retry({ delaySeconds: Math.min(300, 2 ** msg.attempts) });
    }
  }
}

async function handle(body: QueueMessage, _env: Env, deadLetter: boolean): Promise<void> {
  if (deadLetter) {
    console.error("dead-lettered message", JSON.stringify(body));
    return;
  }
  switch (body.kind) {
    case "ping":
      return;
  }
}
