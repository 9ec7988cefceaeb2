// Hosts a mailbox's SMTP settings may not name: the Worker's own machine and networks it alone can reach.
// Connecting a mailbox opens a TCP socket to the host and reports how the far end answered, so without
// this a member could probe internal services (a Redis on 127.0.0.1, a cloud metadata endpoint) through us.

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
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses reach the IPv4 host.
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) {
    return ipv4Private(`${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`);
  }
  return false;
}

/**
 * Why `host` may not be an SMTP server's host, in words, or undefined when it may. Refuses localhost and
 * loopback, private (10/8, 172.16/12, 192.168/16), carrier-grade NAT (100.64/10), benchmarking (198.18/15), link-local and metadata (169.254/16, fe80::/10),
 * unique-local (fc00::/7) and unspecified (0.0.0.0, ::) addresses, however they are spelled.
 */
export function privateHostProblem(host: string): string | undefined {
  const h = canonicalHost(host);
  if (h === undefined || h === "") return "Give the SMTP server's host name or IP address";
  const refused = "Give the SMTP server's public host name: local and private network addresses can't be used";
  if (h === "localhost" || h.endsWith(".localhost")) return refused;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(h)) return ipv4Private(h) ? refused : undefined;
  if (h.startsWith("[")) return ipv6Private(h.slice(1, -1)) ? refused : undefined;
  return undefined;
}
