import { describe, expect, it } from "vitest";
import { pickVariant } from "../../durable-objects/compose";
import { newId } from "../../worker/lib/ids";

describe("A/B variants", () => {
  it("split contacts evenly and deterministically", () => {
    const variants = [{ id: newId() }, { id: newId() }, { id: newId() }];
    // Ids made in one run share their time and counter prefix (lib/ids.ts): the split rests on the rest.
    const ids = Array.from({ length: 3000 }, () => newId());
    const counts = new Map(variants.map((v) => [v.id, 0]));
    for (const id of ids) counts.set(pickVariant(variants, id)!.id, counts.get(pickVariant(variants, id)!.id)! + 1);
    for (const v of variants) expect(Math.abs(counts.get(v.id)! - 1000)).toBeLessThan(100);
    // the same enrollment always gets the same variant, whatever order the variants are read in
    const reversed = [...variants].reverse();
    expect(ids.map((id) => pickVariant(reversed, id)!.id)).toEqual(ids.map((id) => pickVariant(variants, id)!.id));
    expect(pickVariant([], "x")).toBeUndefined();
  });

  it("turning a variant off, deleting or adding one moves only the contacts of that variant", () => {
    const [a, b, c] = [{ id: newId() }, { id: newId() }, { id: newId() }];
    const enrollments = Array.from({ length: 300 }, () => newId());
    const before = new Map(enrollments.map((e) => [e, pickVariant([a!, b!, c!], e)!.id]));
    // roughly even over the three
    for (const v of [a!, b!, c!]) {
      const share = [...before.values()].filter((id) => id === v.id).length / enrollments.length;
      expect(share).toBeGreaterThan(0.25);
      expect(share).toBeLessThan(0.42);
    }
    // B turned off (or deleted): A's and C's contacts keep their variant; B's spread over A and C
    const after = new Map(enrollments.map((e) => [e, pickVariant([a!, c!], e)!.id]));
    const moved = enrollments.filter((e) => after.get(e) !== before.get(e));
    expect(moved.length).toBe([...before.values()].filter((id) => id === b!.id).length);
    for (const e of moved) expect(before.get(e)).toBe(b!.id);
    const toA = moved.filter((e) => after.get(e) === a!.id).length;
    expect(toA).toBeGreaterThan(moved.length * 0.3);
    expect(toA).toBeLessThan(moved.length * 0.7);
    // a fourth variant added: the contacts that move all move to it
    const d = { id: newId() };
    const withD = enrollments.filter((e) => pickVariant([a!, b!, c!, d], e)!.id !== before.get(e));
    expect(withD.length).toBeGreaterThan(0);
    for (const e of withD) expect(pickVariant([a!, b!, c!, d], e)!.id).toBe(d.id);
  });
});
