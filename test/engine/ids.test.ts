import { afterEach, describe, expect, it } from "vitest";
import { resetClock, setClock } from "../../worker/lib/clock";
import { newId, orderedIdFrom } from "../../worker/lib/ids";

afterEach(() => resetClock());

describe("ids", () => {
  it("have Apollo's shape, start with the second they were made, and sort in the order they were made", () => {
    const t = Date.UTC(2026, 11, 3, 9, 30, 0);
    setClock(t);
    const ids = Array.from({ length: 5_000 }, () => newId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{24}$/);
    expect(parseInt(ids[0]!.slice(0, 8), 16)).toBe(t / 1000);
    // One after the other within a second (the counter), and a later second sorts after it: a batch of
    // inserts adds to the end of an index keyed by id instead of a page per row anywhere in it.
    // (The 3-byte counter wraps once every 16.7 million ids, so at most one pair may step back.)
    const backwards = ids.filter((id, i) => i > 0 && id <= ids[i - 1]!).length;
    expect(backwards).toBeLessThanOrEqual(1);
    setClock(t + 1_000);
    expect(newId() > ids[ids.length - 1]!).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("made again from the same inputs are the same id, and a parent's rows sort in their order", async () => {
    setClock(Date.UTC(2026, 11, 3, 9, 30, 0));
    const job = newId();
    const ids = await Promise.all(Array.from({ length: 2_000 }, (_, i) => orderedIdFrom(job, i, "enrollment", `contact-${i}`)));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{24}$/);
    // A redelivered chunk makes the same rows, not new ones.
    expect(await orderedIdFrom(job, 7, "enrollment", "contact-7")).toBe(ids[7]);
    // Under the parent's second, in the order of their place.
    expect(ids.every((id) => id.startsWith(job.slice(0, 8)))).toBe(true);
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
    // Another parent (another job, another import) gives other ids for the same places.
    const other = await orderedIdFrom(newId(), 7, "enrollment", "contact-7");
    expect(other).not.toBe(ids[7]);
  });
});
