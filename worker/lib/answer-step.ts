/**
 * The step id prefix of an answer a rep wrote by hand to a reply (services/reply-answer.ts): no sequence step
 * has it. A leaf module, so access.ts and replies.ts can use it without importing reply-answer.ts (which imports them).
 */
export const ANSWER_STEP_PREFIX = "reply:";
