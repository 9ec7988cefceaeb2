import type { Env } from "../env";

/** The one place Durable Object stubs are made: one SequenceDO per sequence, one MailboxDO per mailbox. */
export function sequenceStub(env: Env, sequenceId: string) {
  return env.SEQUENCE_DO.get(env.SEQUENCE_DO.idFromName(sequenceId));
}

export function mailboxStub(env: Env, mailboxId: string) {
  return env.MAILBOX_DO.get(env.MAILBOX_DO.idFromName(mailboxId));
}
