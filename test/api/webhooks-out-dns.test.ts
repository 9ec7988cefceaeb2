// A receiver's URL was held to the literal-address check only: metadata.google.internal, 127.0.0.1.nip.io,
// 169.254.169.254.nip.io, localtest.me (a public name answering 127.0.0.1) and the single label "metadata" were
// all accepted (201) and sent to. Now names that can't be public are refused as written, and the name is
// looked up (DNS over HTTPS) on create, on change and before every send, each answer held to the same check.
import { afterEach, describe, expect, it } from "vitest";
import { db } from "../../worker/db/client";
import { now } from "../../worker/lib/clock";
import { dohResolve, privateHostProblem, resolver } from "../../worker/lib/private-host";
import { deliverDue, RETRY_DELAYS_MS, type Send } from "../../worker/services/webhooks-out";
import { makeTeam, sessionFor } from "../fixtures";
import { as, env, errorOf, fieldsOf } from "../helpers";

const PUBLIC = "203.0.113.10";
const defaultResolve = resolver.resolve;
const realFetch = globalThis.fetch;
afterEach(() => {
  resolver.resolve = defaultResolve;
  globalThis.fetch = realFetch;
});

/** DNS as the tests script it: each name's answers, a name mapped to an Error fails its lookup; others answer a public address. */
function dns(answers: Record<string, string[] | Error>) {
  const asked: string[] = [];
  resolver.resolve = async (name) => {
    asked.push(name);
    const a = answers[name];
    if (a instanceof Error) throw a;
    return a ?? [PUBLIC];
  };
  return asked;
}

async function admin() {
  const { teamId, userId } = await makeTeam();
  return { teamId, s: await sessionFor(teamId, userId) };
}

const urls = (teamId: string) =>
  env.DB.prepare("SELECT url FROM webhook_subscriptions WHERE team_id = ? ORDER BY created_at, id")
    .bind(teamId)
    .all<{ url: string }>()
    .then((r) => r.results.map((x) => x.url));

async function expectRefused(res: Response, url: string, words: RegExp) {
  const err = await errorOf(res);
  expect([url, err.status]).toEqual([url, 422]);
  const fields = fieldsOf(err);
  expect(fields.map((f) => f.field)).toEqual(["url"]);
  expect([url, fields[0]!.message]).toEqual([url, expect.stringMatching(words)]);
}

describe("outgoing webhooks: host names that reach private addresses", () => {
  it("names that can't be public are refused as written, without a lookup (and by the SMTP host check too)", async () => {
    const { teamId, s } = await admin();
    const asked = dns({});
    for (const host of [
      "metadata.google.internal",
      "metadata",
      "instance-data.ec2.internal",
      "127.0.0.1.nip.io",
      "169.254.169.254.nip.io",
      "hook.10.0.0.1.sslip.io",
      "10-0-0-1.sslip.io",
      "app-192-168-1-1.nip.io",
      "app-7f000001.nip.io",
      "a9fea9fe.nip.io",
      "2130706433.nip.io",
      "--1.sslip.io",
      "fe80--1.sslip.io",
      "printer.local",
      "router.home.arpa",
      "wiki.intranet",
      "erp.corp",
      "nas.lan",
      "api.localhost",
      "kubernetes.default.svc",
    ]) {
      const url = `https://${host}/hook`;
      await expectRefused(await as(s, "POST", "/api/webhooks/outgoing", { url, events: ["run.finished"] }), url, /public address/);
      expect([host, privateHostProblem(host)]).toEqual([host, expect.stringMatching(/local and private network addresses/)]);
    }
    expect(asked).toEqual([]);
    expect(await urls(teamId)).toEqual([]);
    // Public names that merely look alike still pass: an address written in them that is public, a word of hex.
    // A year or an order number in a name, or a preview build's hash, is no address (they were refused as 0.0.x.x or multicast).
    for (const host of [
      "8.8.8.8.nip.io",
      "hooks.example.com",
      "deadbeef.example.com",
      "internal.example.com",
      "hooks-2024.example.com",
      "order-4521.acme.io",
      "e1a2b3c4.ngrok.io",
      "e3b0c442.myproject.pages.dev",
      "1234-34-56-78-90.ngrok-free.app",
      "mail-2024.example.com",
    ])
      expect([host, privateHostProblem(host)]).toEqual([host, undefined]);
  });

  it("a name whose DNS answers include a local or private address is refused on create and on change; no address is refused too", async () => {
    const { teamId, s } = await admin();
    const asked = dns({
      "localtest.me": ["127.0.0.1"],
      "meta.example.net": ["169.254.169.254"],
      "mixed.example.com": ["203.0.113.5", "10.1.2.3"],
      "v6.example.com": ["2606:4700::1111", "::1"],
      "mapped.example.com": ["::ffff:192.168.0.1"],
      "nowhere.example.com": [],
    });
    for (const [host, words] of [
      ["localtest.me", /localtest\.me resolves to 127\.0\.0\.1/],
      ["meta.example.net", /resolves to 169\.254\.169\.254/],
      ["mixed.example.com", /resolves to 10\.1\.2\.3/],
      ["v6.example.com", /resolves to ::1/],
      ["mapped.example.com", /resolves to ::ffff:192\.168\.0\.1/],
      ["nowhere.example.com", /has no address in DNS/],
    ] as const) {
      const url = `https://${host}/x`;
      await expectRefused(await as(s, "POST", "/api/webhooks/outgoing", { url, events: ["run.finished"] }), url, words);
    }
    expect(asked).toEqual([
      "localtest.me",
      "meta.example.net",
      "mixed.example.com",
      "v6.example.com",
      "mapped.example.com",
      "nowhere.example.com",
    ]);
    const ok = await as(s, "POST", "/api/webhooks/outgoing", { url: "https://hooks.example.com/x", events: ["run.finished"] });
    expect(ok.status).toBe(201);
    const { subscription } = (await ok.json()) as { subscription: { id: string } };
    const patched = await as(s, "PATCH", `/api/webhooks/outgoing/${subscription.id}`, { url: "https://localtest.me/x" });
    await expectRefused(patched, "https://localtest.me/x", /resolves to 127\.0\.0\.1/);
    expect(await urls(teamId)).toEqual(["https://hooks.example.com/x"]);
  });

  it("a lookup that can't be made doesn't refuse the URL on create: the send looks it up again", async () => {
    const { teamId, s } = await admin();
    dns({ "down.example.com": new Error("DNS over HTTPS answered 503") });
    const res = await as(s, "POST", "/api/webhooks/outgoing", { url: "https://down.example.com/x", events: ["run.finished"] });
    expect(res.status).toBe(201);
    expect(await urls(teamId)).toEqual(["https://down.example.com/x"]);
  });

  it("each send looks the name up again: a private answer is not sent, a failed lookup is a failed attempt retried", async () => {
    const { teamId, s } = await admin();
    dns({});
    const created = await as(s, "POST", "/api/webhooks/outgoing", { url: "https://rebind.example.com/x", events: ["run.finished"] });
    const { subscription } = (await created.json()) as { subscription: { id: string } };
    for (const id of ["d-private", "d-failed"])
      await env.DB.prepare(
        "INSERT INTO webhook_deliveries (id, team_id, subscription_id, event_id, type, payload, status, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'run.finished', '{}', 'pending', 0, 0, 0)",
      )
        .bind(id, teamId, subscription.id, `e-${id}`)
        .run();
    const sent: string[] = [];
    const send: Send = async (url) => {
      sent.push(url);
      return new Response(null, { status: 204 });
    };
    const row = (id: string) =>
      env.DB.prepare("SELECT status, attempts, last_error, next_attempt_at FROM webhook_deliveries WHERE id = ?")
        .bind(id)
        .first<{ status: string; attempts: number; last_error: string; next_attempt_at: number }>();

    // The name now answers a private address (DNS rebinding after the check on create).
    dns({ "rebind.example.com": ["10.0.0.7"] });
    let t = now();
    await deliverDue(env, db(env.DB), { ids: ["d-private"], send });
    expect(sent).toEqual([]);
    expect(await row("d-private")).toEqual({
      status: "pending",
      attempts: 1,
      last_error: expect.stringMatching(/rebind\.example\.com resolves to 10\.0\.0\.7/),
      next_attempt_at: expect.any(Number),
    });
    expect((await row("d-private"))!.next_attempt_at).toBeGreaterThanOrEqual(t + RETRY_DELAYS_MS[0]);

    // The lookup can't be made: nothing sent, tried again on the schedule.
    dns({ "rebind.example.com": new Error("network connection lost") });
    t = now();
    await deliverDue(env, db(env.DB), { ids: ["d-failed"], send });
    expect(sent).toEqual([]);
    expect(await row("d-failed")).toMatchObject({
      status: "pending",
      attempts: 1,
      last_error: "Could not look up rebind.example.com in DNS: network connection lost",
    });
    expect((await row("d-failed"))!.next_attempt_at).toBeGreaterThanOrEqual(t + RETRY_DELAYS_MS[0]);

    // Public again: the retry is sent.
    dns({});
    await env.DB.prepare("UPDATE webhook_deliveries SET next_attempt_at = 0 WHERE id = 'd-failed'").run();
    await deliverDue(env, db(env.DB), { ids: ["d-failed"], send });
    expect(sent).toEqual(["https://rebind.example.com/x"]);
    expect(await row("d-failed")).toMatchObject({ status: "delivered", attempts: 2 });

    // One lookup per URL for a call's sends, however many deliveries (each lookup is two subrequests).
    for (const id of ["d-1", "d-2", "d-3"])
      await env.DB.prepare(
        "INSERT INTO webhook_deliveries (id, team_id, subscription_id, event_id, type, payload, status, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'run.finished', '{}', 'pending', 0, 0, 0)",
      )
        .bind(id, teamId, subscription.id, `e-${id}`)
        .run();
    const asked = dns({});
    await deliverDue(env, db(env.DB), { ids: ["d-1", "d-2", "d-3"], send });
    expect(sent).toHaveLength(4);
    expect(asked).toEqual(["rebind.example.com"]);
  });

  it("looks names up over DNS over HTTPS (Cloudflare's JSON API): A and AAAA answers, CNAMEs left out, NXDOMAIN none", async () => {
    const asked: { url: string; accept: string | null }[] = [];
    globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = new URL(String(input));
      asked.push({ url: String(input), accept: new Headers(init?.headers).get("accept") });
      const name = url.searchParams.get("name");
      const type = Number(url.searchParams.get("type"));
      if (name === "gone.example.com") return Response.json({ Status: 3 });
      if (name === "broken.example.com") return new Response("busy", { status: 503 });
      const answer =
        type === 1
          ? [
              { name: "www.example.com.", type: 5, data: "edge.example.net." },
              { name: "edge.example.net.", type: 1, data: "203.0.113.7" },
            ]
          : [{ name: "edge.example.net.", type: 28, data: "2001:db8::7" }];
      return Response.json({ Status: 0, Answer: answer });
    }) as typeof fetch;
    expect(await dohResolve("www.example.com")).toEqual(["203.0.113.7", "2001:db8::7"]);
    expect(asked.map((a) => a.url).sort()).toEqual([
      "https://cloudflare-dns.com/dns-query?name=www.example.com&type=1",
      "https://cloudflare-dns.com/dns-query?name=www.example.com&type=28",
    ]);
    expect(asked.every((a) => a.accept === "application/dns-json")).toBe(true);
    expect(await dohResolve("gone.example.com")).toEqual([]);
    await expect(dohResolve("broken.example.com")).rejects.toThrow(/503/);
  });
});
