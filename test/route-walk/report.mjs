// Turns the route walk's `ROUTE-WALK-FINDING {json}` lines (vitest output) into a de-duplicated
// Markdown table: one row per route, rule and kind of answer, with the callers that hit it and one
// input that reproduces it.  Usage: node test/route-walk/report.mjs <vitest-output.txt> [out.md]
import { readFileSync, writeFileSync } from "node:fs";

const [input, out] = process.argv.slice(2);
if (!input) throw new Error("usage: node test/route-walk/report.mjs <vitest-output.txt> [out.md]");
// eslint-disable-next-line no-control-regex
const text = readFileSync(input, "utf8").replace(/\x1b\[[0-9;]*m/g, "");
const findings = [];
for (const line of text.split("\n")) {
  const i = line.indexOf("ROUTE-WALK-FINDING ");
  if (i < 0) continue;
  try {
    findings.push(JSON.parse(line.slice(i + "ROUTE-WALK-FINDING ".length)));
  } catch {
    // a line vitest cut short: the next run prints it again
  }
}

/** What makes two findings the same: the route, the rule, the status, and the note without its numbers and ids. */
const sameness = (f) => `${f.route}|${f.rule}|${f.status}|${f.note.replace(/[0-9a-f]{24}/g, "<id>").replace(/\d+/g, "N")}`;
const groups = new Map();
for (const f of findings) {
  const k = sameness(f);
  const g = groups.get(k) ?? { ...f, callers: new Set(), count: 0 };
  g.callers.add(f.caller);
  g.count++;
  groups.set(k, g);
}
const esc = (s) => String(s).replace(/\|/g, "\\|").replace(/\n/g, " ");
const order = (a, b) =>
  (b.rule === "server_error") - (a.rule === "server_error") || a.route.localeCompare(b.route) || a.rule.localeCompare(b.rule);
const table = (rows) => [
  "| rule | route | callers | status | what | example request | answer (start) |",
  "| --- | --- | --- | --- | --- | --- | --- |",
  ...rows
    .sort(order)
    .map(
      (g) =>
        `| ${g.rule} | ${esc(g.route)} | ${[...g.callers].join(", ")} (${g.count}×) | ${g.status} | ${esc(g.note)} | \`${esc(g.request.slice(0, 400))}\` | \`${esc(g.answer.slice(0, 200))}\` |`,
    ),
];
const all = [...groups.values()];
const fails = all.filter((g) => g.severity !== "note");
const notes = all.filter((g) => g.severity === "note");
const lines = [
  `### Failing (${fails.length} distinct, ${findings.filter((f) => f.severity !== "note").length} in all)`,
  "",
  ...table(fails),
  "",
  `### Notes: reported, not failed on (${notes.length} distinct)`,
  "",
  ...table(notes),
];
if (out) writeFileSync(out, lines.join("\n") + "\n");
else console.log(lines.join("\n"));
