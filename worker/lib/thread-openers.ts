/**
 * A same-thread reply answers the email that opened its thread, so an email step that isn't itself a reply
 * must come before it (a call or a task opens no thread). The API refuses an order that breaks this
 * (worker/services/steps.ts) and the step editor offers no such move (web/src/routes/sequence/StepsTab.tsx):
 * a reply with nothing before it would go out with no subject.
 */
const EMAIL_TYPES = new Set(["auto_email", "manual_email"]);

/** The index of the first reply in `steps` (in order) with no email before it to reply to; -1 when none. */
export function firstReplyWithoutOpener(steps: readonly { type: string; reply: boolean }[]): number {
  let opened = false;
  for (const [i, s] of steps.entries()) {
    if (s.reply && !opened) return i;
    if (EMAIL_TYPES.has(s.type) && !s.reply) opened = true;
  }
  return -1;
}
