/** What every report shares: the day length, the sender thresholds and the note on tracking. */

export const DAY_MS = 86_400_000;

/**
 * Lines a sender should stay under. Google's and Yahoo's bulk-sender rules (Feb 2024): spam complaint
 * rate (as Postmaster Tools reports it) below 0.3%, aim for below 0.1%; bounce rate is commonly kept
 * under 2% to protect the domain's reputation.
 */
export const THRESHOLDS = {
  bounce_rate_max: 0.02,
  spam_rate_max: 0.003,
  spam_rate_target: 0.001,
  note: "Google and Yahoo ask bulk senders to keep the spam complaint rate (as Google Postmaster Tools reports it) under 0.3%, and ideally under 0.1%. Keep the bounce rate under 2%: verify addresses before sending.",
} as const;

export const TRACKING_NOTE =
  "Open and click tracking is off (the default): tracking pixels and rewritten links make emails look like bulk mail to spam filters and hurt deliverability, and Apple Mail Privacy Protection makes opens unreliable anyway. Replies are the figure to trust.";

/** x / n, 0 when there is nothing to divide by. */
export const rate = (x: number, n: number) => (n > 0 ? x / n : 0);

/**
 * Replies over the emails that arrived (sent, bounced ones included, minus the bounced): the reply rate the
 * sequence report shows everywhere and the sequence list shows beside it, so the two can't differ.
 */
export const replyRate = (c: { sent: number; bounced: number; replied: number }) => rate(c.replied, c.sent - c.bounced);
