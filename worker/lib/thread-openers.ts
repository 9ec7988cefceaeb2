/**
 * A same-thread reply answers the email that opened its thread, so an automatic email step that isn't itself
 * a reply must come before it (a call, a task or a manual email opens no thread). The API refuses an order that breaks this
 * (worker/services/steps.ts) and the step editor offers no such move (web/src/routes/sequence/StepsTab.tsx):
 * a reply with nothing before it would go out with no subject.
 */
// Only an automatic email gives a contact a thread (a manual email is a task: its reply carries no message id).
const OPENER_TYPES = new Set(["auto_email"]);
const REPLY_TYPES = new Set(["auto_email", "manual_email"]);

/** The index of the first reply in `steps` (in order) with no email before it to reply to; -1 when none. */
export function firstReplyWithoutOpener(steps: readonly { type: string; reply: boolean }[]): number {
  let opened = false;
  for (const [i, s] of steps.entries()) {
    // Only an email replies in a thread (a stray thread_reply on a call or a task is no reply: steps.ts).
    if (s.reply && REPLY_TYPES.has(s.type) && !opened) return i;
    if (OPENER_TYPES.has(s.type) && !s.reply) opened = true;
  }
  return -1;
}
