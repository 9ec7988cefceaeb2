import { fnv1a } from "../lib/hash";
/**
 * Waterfall enrichment: contacts without an email are looked up through an ordered list of
 * providers; the first success wins and costs that provider's credits. Providers are pluggable;
 * the built-in ones are deterministic (local and tests), so a preview predicts them exactly.
 */
export interface EnrichmentInput {
  firstName: string;
  lastName: string;
  domain: string | null;
  company: string | null;
  key: string;
}

export interface EnrichmentProvider {
  name: string;
  /** Credits charged per success. */
  cost: number;
  /** Deterministic providers can be predicted in a preview. */
  deterministic: boolean;
  lookup(input: EnrichmentInput): Promise<{ email: string; status: "verified" | "unverified" } | null>;
}

const local = (s: string) =>
  s
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]/g, "");

/** Built-in: guesses the company's address pattern; finds about 40% of addresses. */
export const patternFinder: EnrichmentProvider = {
  name: "pattern_finder",
  cost: 1,
  deterministic: true,
  async lookup(i) {
    if (!i.domain || fnv1a(`pattern:${i.key}`) % 10 >= 4) return null;
    return { email: `${local(i.firstName)}.${local(i.lastName)}@${i.domain}`, status: "verified" };
  },
};

/** Built-in: a deeper (dearer) lookup that finds about half of what is left. */
export const deepLookup: EnrichmentProvider = {
  name: "deep_lookup",
  cost: 2,
  deterministic: true,
  async lookup(i) {
    if (!i.domain || fnv1a(`deep:${i.key}`) % 2 === 1) return null;
    return { email: `${local(i.firstName).charAt(0)}${local(i.lastName)}@${i.domain}`, status: "verified" };
  },
};

export const DEFAULT_WATERFALL: EnrichmentProvider[] = [patternFinder, deepLookup];

/** The most one contact can cost: one success at the dearest provider. */
export const maxEnrichmentCost = (providers: EnrichmentProvider[]) => Math.max(0, ...providers.map((p) => p.cost));

export interface WaterfallResult {
  email: string | null;
  status: "verified" | "unverified" | null;
  provider: string | null;
  cost: number;
  attempts: { provider: string; success: boolean; cost: number; email: string | null }[];
}

export async function runWaterfall(providers: EnrichmentProvider[], input: EnrichmentInput): Promise<WaterfallResult> {
  const attempts: WaterfallResult["attempts"] = [];
  for (const p of providers) {
    const found = await p.lookup(input);
    attempts.push({ provider: p.name, success: !!found, cost: found ? p.cost : 0, email: found?.email ?? null });
    if (found) return { email: found.email, status: found.status, provider: p.name, cost: p.cost, attempts };
  }
  return { email: null, status: null, provider: null, cost: 0, attempts };
}
