import { describe, expect, it } from "vitest";
import { pickVariant } from "../../durable-objects/compose";
import { newId } from "../../worker/lib/ids";

describe("A/B variants", () => {
  it("split contacts evenly and deterministically", () => {
    const variants = ["A", "B", "C"];
    // Ids made in one run share their time and counter prefix (lib/ids.ts): the split rests on the rest.
    const ids = Array.from({ length: 3000 }, () => newId());
    const counts = { A: 0, B: 0, C: 0 } as Record<string, number>;
    for (const id of ids) counts[pickVariant(variants, id)!]!++;
    for (const v of variants) expect(Math.abs(counts[v]! - 1000)).toBeLessThan(100);
    // the same enrollment always gets the same variant
    expect(ids.slice(0, 50).map((id) => pickVariant(variants, id))).toEqual(ids.slice(0, 50).map((id) => pickVariant(variants, id)));
    expect(pickVariant([], "x")).toBeUndefined();
  });
});
