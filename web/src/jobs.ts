import type { Job } from "./api";
import type { Tone } from "./components/Badge";
import { plural } from "./format";

export type JobStatus = Job["status"];

/** A job that will not change any more: stop polling it. */
export const isFinished = (s: JobStatus) => s === "completed" || s === "failed" || s === "cancelled";

export const JOB_STATUS: Record<JobStatus, { label: string; tone: Tone; hint: string }> = {
  preparing: { label: "Preparing", tone: "info", hint: "Checking and ordering the contacts" },
  scheduled: { label: "Scheduled", tone: "neutral", hint: "Starts at its scheduled time; cancel it any time before" },
  queued: { label: "Queued", tone: "info", hint: "Waiting for a worker to pick it up" },
  running: { label: "Running", tone: "accent", hint: "Adding contacts now" },
  completed: { label: "Completed", tone: "success", hint: "Every contact has an outcome" },
  failed: { label: "Failed", tone: "danger", hint: "Stopped with an error; unused credits are returned" },
  cancelled: { label: "Cancelled", tone: "neutral", hint: "Cancelled before it started; its credit hold was returned" },
};

/**
 * What the job was asked to add, part by part: ["CSV file", "List “Leads”"]. The job panel links the CSV file's part
 * to its import and shows the rest after it.
 */
export function jobSourceParts(job: Pick<Job, "source">, listName?: (id: string) => string | undefined): string[] {
  const s = job.source;
  const lists = s.list_ids;
  const listText =
    lists.length === 1 && listName?.(lists[0]!) ? `List “${listName(lists[0]!)}”` : lists.length ? plural(lists.length, "list") : "";
  // A workflow's job is its run, not something picked by hand.
  if (s.kind === "workflow") return [s.people ? `Workflow run: ${plural(s.people, "net-new person", "net-new people")}` : "Workflow run"];
  // A retry's contacts are those its earlier job did not process (source.not_processed_of_job).
  if (s.kind === "retry") return ["Contacts an earlier job did not process"];
  if (s.kind === "save_to_list") return [`${plural(s.people, "person", "people")} saved to ${listText || "a list"}`];
  const parts: string[] = [];
  if (s.kind === "csv") parts.push("CSV file");
  else if (s.kind === "search") parts.push("Prospect search");
  else if (s.people) parts.push(`${plural(s.people, "person", "people")} picked`);
  if (listText) parts.push(listText);
  if (s.contacts) parts.push(plural(s.contacts, "contact"));
  return parts;
}

/** What the job was asked to add, in words: "Prospect search", "2 lists", "3 people picked". */
export function jobSourceLabel(job: Pick<Job, "source">, listName?: (id: string) => string | undefined): string {
  return jobSourceParts(job, listName).join(" + ") || "Contacts";
}

/** Share of the job done, 0–100. */
export const jobPercent = (j: Pick<Job, "processed" | "total" | "status">) =>
  j.status === "completed" ? 100 : j.total > 0 ? Math.min(100, Math.round((j.processed / j.total) * 100)) : 0;
