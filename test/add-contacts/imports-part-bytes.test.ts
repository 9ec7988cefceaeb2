// Parts are cut by bytes as well as rows: cut every 5,000 rows only, a 300-column export (9 KB a row)
// made 45 MB parts, more than saving one can hold in a 128 MB isolate, so the import failed after its retries.
import { describe, expect, it } from "vitest";
import { parsePart, PART_BYTES, PART_ROWS, scanCsv } from "../../worker/services/imports/csv";

function streamOf(bytes: Uint8Array, chunk = 64 * 1024) {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (at >= bytes.length) return ctl.close();
      ctl.enqueue(bytes.subarray(at, at + chunk));
      at += chunk;
    },
  });
}

describe("CSV imports: parts of a wide file", () => {
  it("keeps every part within the byte budget and reads every row once across the parts", async () => {
    const columns = 300;
    const rows = 1200;
    const header = ["Email", ...Array.from({ length: columns - 1 }, (_, i) => `Field ${i}`)].join(",");
    const line = (n: number) =>
      [`p${n}@x.io`, ...Array.from({ length: columns - 1 }, (_, i) => `value ${n}-${i}`.padEnd(30, "x"))].join(",");
    const csv = [header, ...Array.from({ length: rows }, (_, n) => line(n))].join("\r\n") + "\r\n";
    const bytes = new TextEncoder().encode(csv);
    expect(bytes.length).toBeGreaterThan(2 * PART_BYTES); // well under PART_ROWS rows, over the budget
    expect(rows).toBeLessThan(PART_ROWS);

    const scan = await scanCsv(streamOf(bytes));
    expect(scan.rowCount).toBe(rows);
    expect(scan.parts.length).toBeGreaterThan(2);
    const emails: string[] = [];
    scan.parts.forEach((p, i) => {
      expect(p.to - p.from).toBeLessThanOrEqual(PART_BYTES);
      if (i > 0) expect(p.from).toBe(scan.parts[i - 1]!.to); // no byte left out or read twice
      const records = parsePart(bytes.subarray(p.from, p.to), ",");
      expect(records[0]![0]).toBe(`p${p.row - 2}@x.io`); // the part's first spreadsheet row (header = row 1)
      for (const r of records) {
        expect(r.length).toBe(columns);
        emails.push(r[0]!);
      }
    });
    expect(emails).toEqual(Array.from({ length: rows }, (_, n) => `p${n}@x.io`));
    expect(scan.parts.at(-1)!.to).toBe(bytes.length);
  });
});
