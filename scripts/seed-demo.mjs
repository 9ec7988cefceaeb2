// Seeds the demo workspace into a running local app through its local-only route (APP_ENV=local).
// The seed is idempotent (fixed ids, INSERT OR IGNORE, a marker written last), so asking twice is safe.
export async function seedDemo(base) {
  const t = Date.now();
  let res;
  // A reload of the dev server mid-request is answered by asking again.
  for (let attempt = 1; ; attempt++) {
    res = await fetch(`${base}/api/dev/seed`, { method: "POST" }).catch((err) => ({
      ok: false,
      status: 0,
      json: async () => ({ error: String(err) }),
    }));
    if (res.ok || attempt === 3) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  const seeded = await res.json().catch(() => ({}));
  if (!res.ok) {
    console.error("seed failed", res.status, seeded);
    return false;
  }
  console.log(seeded.seeded ? `» demo workspace seeded in ${((Date.now() - t) / 1000).toFixed(1)}s` : "» demo workspace already present");
  return true;
}
