import { action, query } from "@solidjs/router";
import { api, data } from "../api";

export type SuppressionQuery = { page: number; q?: string };
export type Suppression = Awaited<ReturnType<typeof fetchSuppressions>>["suppressions"][number];

/** Each reason in words, and whether the person chose it (lifting it then needs their consent again). */
export const SUPPRESSION_REASONS: Record<
  Suppression["reason"],
  { label: string; tone: "danger" | "warning" | "neutral"; optedOut: boolean }
> = {
  unsubscribed: { label: "Unsubscribed", tone: "danger", optedOut: true },
  complaint: { label: "Reported as spam", tone: "danger", optedOut: true },
  bounced: { label: "Bounced", tone: "warning", optedOut: false },
  dnc: { label: "Do Not Contact (deleted contact)", tone: "neutral", optedOut: false },
  manual: { label: "Added by hand", tone: "neutral", optedOut: false },
};

const PER_PAGE = 25;

function fetchSuppressions(q: SuppressionQuery) {
  return data(api.suppressions.$get({ query: { page: String(q.page), per_page: String(PER_PAGE), ...(q.q ? { q: q.q } : {}) } }));
}

/** The team's Do not email list, a page at a time (admins). */
export const getSuppressions = query((q: SuppressionQuery) => fetchSuppressions(q), "suppressions");

// Writes (actions.ts).
export const addSuppressionsAction = action((emails: string[]) => data(api.suppressions.$post({ json: { emails } })), "addSuppressions");
/** Blocks a whole domain (example.com): every address at exactly that domain is never emailed. */
export const blockDomainAction = action((domain: string) => data(api.suppressions.$post({ json: { domain } })), "blockDomain");
/** `confirm`: the person asked to hear from the team again (needed to lift an unsubscribe or a complaint). */
export const liftSuppressionAction = action(
  (email: string, confirm: boolean) =>
    data(api.suppressions[":email"].$delete({ param: { email }, query: confirm ? { confirm: "true" } : {} })),
  "liftSuppression",
);
