// Hosts a mailbox's SMTP settings or an outgoing webhook may not name: the Worker's own machine and networks
// it alone can reach. Connecting a mailbox opens a TCP socket to the host and reports how the far end
// answered, and a webhook's deliveries show the receiver's status, so without this a member could probe
// internal services (a Redis on 127.0.0.1, a cloud metadata endpoint) through us.

/**
 * The host as the URL parser reads it, the way a socket library would: "127.1", "0x7f.0.0.1" and
 * "2130706433" are all 127.0.0.1, "::ffff:127.0.0.1" is an IPv6 literal. Undefined when it isn't a host.
 */
function canonicalHost(host: string): string | undefined {
  const bare = host.trim().replace(/^\[(.*)\]$/, "$1");
  try {
    const h = new URL(`http://${bare.includes(":") ? `[${bare}]` : bare}/`).hostname;
    return h.replace(/\.$/, "").toLowerCase();
  } catch {
    return undefined;
  }
}

function ipv4Private(ip: string): boolean {
  const [a, b] = ip.split(".").map(Number) as [number, number, number, number];
  return (
    a === 0 || // 0.0.0.0/8: "this host"
    a >= 224 || // multicast (224/4), reserved (240/4) and broadcast: never a web server
    a === 127 || // loopback
    a === 10 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254) || // link-local, where cloud metadata services answer
    (a === 100 && b >= 64 && b <= 127) || // 100.64.0.0/10: carrier-grade NAT, a provider's internal network
    (a === 198 && (b === 18 || b === 19)) // 198.18.0.0/15: benchmarking, used inside networks, never routed publicly
  );
}

/** The eight 16-bit groups of a canonical IPv6 literal ("::1" → [0,0,0,0,0,0,0,1]). */
function ipv6Groups(ip: string): number[] {
  const [head = "", tail] = ip.split("::");
  const part = (s: string) => (s ? s.split(":").map((g) => parseInt(g, 16)) : []);
  const h = part(head);
  const t = tail === undefined ? [] : part(tail);
  return [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
}

function ipv6Private(ip: string): boolean {
  const g = ipv6Groups(ip);
  const first = g[0]!;
  if (g.slice(0, 7).every((x) => x === 0)) return g[7]! <= 1; // :: and ::1
  if ((first & 0xfe00) === 0xfc00) return true; // fc00::/7 unique-local
  if ((first & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if ((first & 0xff00) === 0xff00) return true; // ff00::/8 multicast
  const v4 = (hi: number, lo: number) => ipv4Private(`${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`);
  // NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:aabb:ccdd::) addresses are carried to the IPv4 host they embed.
  if (first === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return v4(g[6]!, g[7]!);
  if (first === 0x2002) return v4(g[1]!, g[2]!);
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses reach the IPv4 host.
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) {
    return v4(g[6]!, g[7]!);
  }
  return false;
}

/** Whether an IP address (as DNS answers it, or a literal) is one of the local or private ranges above. */
export function privateAddress(ip: string): boolean {
  const h = canonicalHost(ip);
  if (h === undefined) return true; // not an address at all: never treated as a public one
  if (/^\d+\.\d+\.\d+\.\d+$/.test(h)) return ipv4Private(h);
  if (h.startsWith("[")) return ipv6Private(h.slice(1, -1));
  return true;
}

/**
 * Top-level names that never lead to a public host: special-use names (RFC 6761: localhost, test, example;
 * not invalid, which no resolver answers, so it leads nowhere at all; RFC 6762: local; RFC 8375: home.arpa;
 * RFC 9476: alt; RFC 7686: onion), the reverse-lookup tree (arpa), the names clouds and clusters answer inside their own networks (internal: metadata.google.internal,
 * *.ec2.internal; svc, cluster.local) and those common on office and home networks (lan, intranet, corp, home,
 * private, localdomain).
 */
const LOCAL_TLDS = new Set([
  "localhost",
  "test",
  "example",
  "local",
  "arpa",
  "alt",
  "onion",
  "internal",
  "svc",
  "lan",
  "intranet",
  "corp",
  "home",
  "private",
  "localdomain",
]);

/** Wildcard DNS services that also answer an IPv4 address written as eight hex digits. */
const HEX_FORM_SERVICES = new Set(["nip.io", "sslip.io", "xip.io"]);

/**
 * An IP address written into a host name, the way wildcard DNS services answer any name that carries one
 * (127.0.0.1.nip.io, 10-0-0-1.sslip.io, app-7f000001.nip.io, --1.sslip.io for ::1): every private one found.
 */
function embeddedPrivateAddress(name: string): boolean {
  const labels = name.split(".");
  const hexForm = HEX_FORM_SERVICES.has(labels.slice(-2).join("."));
  const octet = (s: string) => /^\d{1,3}$/.test(s) && Number(s) <= 255;
  // Four labels in a row: a.b.c.d.<domain>.
  for (let i = 0; i + 4 <= labels.length; i++) {
    const four = labels.slice(i, i + 4);
    if (four.every(octet) && ipv4Private(four.map(Number).join("."))) return true;
  }
  for (const label of labels) {
    // Dashes within a label: 10-0-0-1, app-192-168-1-1.
    for (const m of label.matchAll(/(?<![\d])(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})(?![\d])/g))
      if (m.slice(1, 5).every(octet) && ipv4Private(m.slice(1, 5).map(Number).join("."))) return true;
    // Eight hex digits (nip.io's hex form: app-7f000001.nip.io) or one decimal number as one IPv4 address, only
    // under the services that answer it: elsewhere such a label is a preview build's hash (e3b0c442.myproject.pages.dev), and a number in
    // a name is a year or an order number (hooks-2024.example.com), public names both.
    if (hexForm)
      for (const part of label.split("-")) {
        const n = /^[0-9a-f]{8}$/.test(part) ? parseInt(part, 16) : /^\d{4,10}$/.test(part) ? Number(part) : NaN;
        if (n > 255 && n <= 0xffffffff && ipv4Private(`${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`)) return true;
      }
    // IPv6 with dashes for colons (sslip.io: --1, fe80--1, fd00-0-0-0-0-0-0-1).
    // The address may follow a prefix (www-2001-db8--1): each tail after a dash is tried.
    const parts = label.split("-");
    for (let i = 0; i < parts.length && label.includes("-"); i++) {
      const v6 = parts.slice(i).join(":");
      if (!v6.includes("::") && parts.length - i !== 8) continue;
      const h = canonicalHost(v6);
      if (h?.startsWith("[") && ipv6Private(h.slice(1, -1))) return true;
    }
  }
  return false;
}

/**
 * Why `host` can't be public whatever DNS answers, or undefined: a name of one label (metadata, intranet
 * hosts: only a local resolver answers it), a special-use or local top-level name (LOCAL_TLDS), or one that
 * carries a private IP address for a wildcard DNS service to answer with. Its DNS answers are checked apart
 * (resolvedHostProblem).
 */
function localNameProblem(h: string): boolean {
  const labels = h.split(".");
  if (labels.length < 2) return true;
  if (LOCAL_TLDS.has(labels[labels.length - 1]!)) return true;
  return embeddedPrivateAddress(h);
}

/**
 * Why `host` may not be an SMTP server's or a webhook receiver's host, in words, or undefined when it may.
 * Refuses localhost and loopback, private (10/8, 172.16/12, 192.168/16), carrier-grade NAT (100.64/10),
 * benchmarking (198.18/15), link-local and metadata (169.254/16, fe80::/10), unique-local (fc00::/7),
 * multicast and unspecified (0.0.0.0, ::) addresses, however they are spelled; and names that can't be
 * public (localNameProblem). A public-looking name may still be answered with a private address: see
 * resolvedHostProblem.
 */
export function privateHostProblem(host: string): string | undefined {
  const h = canonicalHost(host);
  if (h === undefined || h === "") return "Give the SMTP server's host name or IP address";
  const refused = "Give the SMTP server's public host name: local and private network addresses can't be used";
  if (/^\d+\.\d+\.\d+\.\d+$/.test(h)) return ipv4Private(h) ? refused : undefined;
  if (h.startsWith("[")) return ipv6Private(h.slice(1, -1)) ? refused : undefined;
  return localNameProblem(h) ? refused : undefined;
}

/** A host name's A and AAAA answers; throws when the lookup could not be made. An empty list: the name has no address. */
export type Resolve = (name: string) => Promise<string[]>;

const DOH_URL = "https://cloudflare-dns.com/dns-query";
/** How long a lookup may take. */
const DOH_TIMEOUT_MS = 5_000;

/**
 * A Worker has no DNS API: the name is looked up over DNS-over-HTTPS, Cloudflare's JSON API, one GET per
 * record type (A = 1, AAAA = 28; the answers also list the CNAMEs followed, kept out by type). NXDOMAIN
 * (Status 3) is a name with no address; any other failure throws.
 */
export async function dohResolve(name: string): Promise<string[]> {
  const one = async (type: 1 | 28) => {
    const res = await fetch(`${DOH_URL}?name=${encodeURIComponent(name)}&type=${type}`, {
      headers: { accept: "application/dns-json" },
      signal: AbortSignal.timeout(DOH_TIMEOUT_MS),
    });
    if (!res.ok) throw new Error(`DNS over HTTPS answered ${res.status}`);
    const body = (await res.json()) as { Status?: number; Answer?: { type: number; data: string }[] };
    if (body.Status === 3) return [];
    if (body.Status !== 0) throw new Error(`DNS answered status ${body.Status}`);
    return (body.Answer ?? []).filter((a) => a.type === type).map((a) => a.data);
  };
  const [a, aaaa] = await Promise.all([one(1), one(28)]);
  return [...a, ...aaaa];
}

/** The lookup used: DNS over HTTPS, replaced by the tests (they have no network). */
export const resolver: { resolve: Resolve } = { resolve: dohResolve };

/**
 * `host` (a name privateHostProblem let through) looked up now, every A and AAAA answer held to the same
 * check as a literal address: "private" when any is local or private (a public name pointed at 127.0.0.1 or
 * 169.254.169.254), "none" when the name has no address, "failed" when the lookup couldn't be made (with
 * why), "ok" otherwise. A literal address is not looked up. Workers' fetch resolves the name again itself;
 * a name whose answers change between the two is Cloudflare's network's to refuse (see the README).
 */
export async function resolvedHostProblem(
  host: string,
): Promise<{ kind: "ok" } | { kind: "private"; address: string } | { kind: "none" } | { kind: "failed"; why: string }> {
  const h = canonicalHost(host);
  if (h === undefined || h.startsWith("[") || /^\d+\.\d+\.\d+\.\d+$/.test(h)) return { kind: "ok" };
  let addresses: string[];
  try {
    addresses = await resolver.resolve(h);
  } catch (err) {
    return { kind: "failed", why: String(err instanceof Error ? err.message : err).slice(0, 200) };
  }
  if (!addresses.length) return { kind: "none" };
  const bad = addresses.find((a) => privateAddress(a));
  return bad === undefined ? { kind: "ok" } : { kind: "private", address: bad };
}
