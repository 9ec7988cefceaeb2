import type { Enrollment } from "../api";
import { formatDay } from "../format";
import { Badge, type Tone } from "./Badge";
import type { IconName } from "./Icon";

export const ENROLLMENT_STATUS: Record<Enrollment["shown_status"], { label: string; tone: Tone; hint: string }> = {
  scheduled: { label: "Scheduled", tone: "info", hint: "Starts later" },
  active: { label: "Active", tone: "accent", hint: "Moving through the steps" },
  paused: { label: "Paused", tone: "warning", hint: "Paused" },
  held: { label: "Held", tone: "warning", hint: "Held until what blocks it is fixed" },
  // An active run of a sequence that is off (shownStatus): nothing goes out until the sequence is turned on.
  waiting_sequence_off: { label: "Waiting (sequence off)", tone: "warning", hint: "Sends nothing until the sequence is turned on" },
  finished: { label: "Finished", tone: "success", hint: "Done with this sequence" },
  failed: { label: "Failed", tone: "danger", hint: "Stopped by an error" },
  removed: { label: "Removed", tone: "neutral", hint: "Taken out of the sequence" },
};

/**
 * A report status's words: a run's status, or wont_send, which is no run's status but the Contacts tab's chip of
 * that name (open runs whose contact the engine won't email), in its words and tone.
 */
export const REPORT_STATUS_WONT_SEND = { label: "Won't be sent", tone: "danger" as Tone };
export const reportStatus = (status: string): { label: string; tone: Tone } =>
  status === "wont_send"
    ? REPORT_STATUS_WONT_SEND
    : (ENROLLMENT_STATUS[status as keyof typeof ENROLLMENT_STATUS] ?? { label: status, tone: "neutral" });

/** How "Won't be sent" overlaps the other statuses, in the same words on the Contacts tab, the report and the overview. */
export const wontSendOverlap = (n: string) =>
  `the ${n} that won't be sent aren't counted as active; a paused, held or scheduled one counts under its own status too`;

/** What resumes a paused contact depends on why it was paused: only a user's pause waits for a user. */
function pausedHint(reason: string | null | undefined, until: number | null | undefined) {
  const on = until ? ` on ${formatDay(until)}` : "";
  if (reason === "paused_until") return `Paused until a date: resumes by itself${on}`;
  if (reason === "out_of_office") return `Out of office: resumes by itself${on || " when they are back"}`;
  if (reason === "colleague_replied") return "Paused because a colleague replied: resumes when someone resumes it";
  return "Paused by a user: resumes when someone resumes it";
}

export function EnrollmentBadge(props: { status: Enrollment["shown_status"]; reason?: string | null; until?: number | null }) {
  const s = () => ENROLLMENT_STATUS[props.status] ?? { label: props.status, tone: "neutral" as Tone, hint: "" };
  const hint = () => (props.status === "paused" ? pausedHint(props.reason, props.until) : s().hint);
  return (
    <Badge tone={s().tone} dot title={hint()}>
      {s().label}
    </Badge>
  );
}

const BLOCKED = new Set([
  "mailbox_disconnected",
  "mailbox_paused",
  "mailbox_reply_check",
  "no_mailbox",
  "sequence_inactive",
  "no_step_on",
  "task_open",
  "scheduled",
]);
const BAD = new Set([
  "send_failed",
  "delivery_unknown",
  "no_email",
  "bounced",
  "unsubscribed",
  "do_not_contact",
  "suppressed",
  "suppressed_domain",
  "contact_deleted",
]);
const GOOD = new Set(["completed_all_steps", "replied", "marked_finished"]);

/** How loudly to show why a contact isn't moving: red for stops, amber for blocks, green for done. */
export function reasonTone(reason: string | null): { tone: "danger" | "warning" | "success" | "neutral"; icon: IconName } {
  if (!reason) return { tone: "neutral", icon: "info" };
  if (BAD.has(reason)) return { tone: "danger", icon: "alert" };
  if (BLOCKED.has(reason)) return { tone: "warning", icon: reason === "task_open" ? "tasks" : "pause" };
  if (GOOD.has(reason)) return { tone: "success", icon: "check" };
  if (reason === "paused_by_user") return { tone: "warning", icon: "pause" };
  return { tone: "neutral", icon: "info" };
}
