// `npm run bench -- csv`: a generated 100,000-row, 12-column CSV (1% bad rows) imported into a
// sequence end to end: upload → mapped → contacts saved → enrolled, through the real routes and queue.
import { it } from "vitest";
import { resetClock } from "../worker/lib/clock";
import { call, env } from "../test/helpers";
import { addContactsSetup, waitForJob } from "../test/fixtures";
import { cpuMark, report } from "./report";

const scale = Number((env as unknown as { BENCH_SCALE: string }).BENCH_SCALE);
const rows = Math.max(100, Math.round(100_000 * scale));

function generate(n: number) {
  const lines = ["Email,First Name,Last Name,Company,Title,Phone,LinkedIn,City,Country,Time zone,Website,Industry"];
  for (let i = 0; i < n; i++) {
    const email = i % 100 === 99 ? `broken-${i}.example.test` : `lead${i}@co${i % 997}.example.test`; // 1% bad rows
    lines.push(
      `${email},First${i},Last${i},"Company ${i % 997}, Inc.",Head of Ops,+1 555 ${String(i).padStart(7, "0")},https://linkedin.com/in/lead${i},Springfield,United States,America/Chicago,co${i % 997}.example.test,Software`,
    );
  }
  return lines.join("\r\n") + "\r\n";
}

it(`imports a ${rows}-row CSV into a sequence end to end`, async () => {
  resetClock();
  const x = await addContactsSetup({ mailboxes: [{ daily: 500 }, { daily: 400 }, { daily: 300 }, { daily: 200 }], credits: 0 });
  // The 19 MB text goes straight into the File (outside the JS heap): kept as a string for the whole
  // run it was the largest live object of the isolate, and it is the bench's, not the Worker's.
  const file = new File([generate(rows)], "leads.csv", { type: "text/csv" });
  const auth = { cookie: x.s.cookie, "x-csrf-token": x.s.csrf };
  const t0 = Date.now();
  const form = new FormData();
  form.append("file", file);
  const up = await call("/api/imports", { method: "POST", headers: auth, body: form });
  if (up.status !== 201) throw new Error(`upload failed: ${up.status} ${await up.text()}`);
  const { import: imp } = (await up.json()) as { import: { id: string; mapping: (string | null)[]; row_count: number } };
  const uploadS = (Date.now() - t0) / 1000;
  if (imp.mapping.filter(Boolean).length !== 12) throw new Error(`expected 12 mapped columns, got ${JSON.stringify(imp.mapping)}`);
  await cpuMark("start");
  const save = await call(`/api/imports/${imp.id}/save`, { method: "POST", headers: auth });
  if (save.status !== 202) throw new Error(`save failed: ${save.status} ${await save.text()}`);
  let saved: Record<string, any>;
  for (;;) {
    saved = (await env.DB.prepare("SELECT * FROM imports WHERE id = ?").bind(imp.id).first<Record<string, any>>())!;
    if (saved.status !== "saving") break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const savedS = (Date.now() - t0) / 1000;
  await cpuMark({ stop: "csv_save", count: rows, per: "row" });
  const bad = Math.floor(rows / 100);
  if (saved.status !== "ready" || saved.saved !== rows - bad || saved.failed !== bad)
    throw new Error(`saving ended ${saved.status}: ${saved.saved} saved, ${saved.failed} failed`);

  await cpuMark("start");
  const res = await call(`/api/sequences/${x.sequenceId}/add-contacts`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ source: { import_id: imp.id }, mailbox_ids: x.mailboxIds, overrides: { unverified_email: true } }),
  });
  if (res.status !== 202) throw new Error(`add-contacts failed: ${res.status} ${await res.text()}`);
  const { job } = (await res.json()) as { job: { id: string } };
  const done = await waitForJob(job.id, 1_800_000);
  const wall = (Date.now() - t0) / 1000;
  await cpuMark({ stop: "csv_enroll", count: rows, per: "row" });
  if (done.status !== "completed" || done.enrolled !== rows - bad) throw new Error(`job ${done.status}: ${done.enrolled} enrolled`);
  report(`csv_import_${rows}_wall_time`, wall, "s");
  report(`csv_import_${rows}_upload_request`, uploadS, "s");
  report(`csv_import_${rows}_saved_at`, savedS, "s");
  report(`csv_import_${rows}_rows_per_second`, rows / wall, "rows/s");
  report(`csv_import_${rows}_file_size`, file.size / 1024 / 1024, "MB");
});
