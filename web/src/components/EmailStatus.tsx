import type { Contact } from "../api";
import { Badge, type Tone } from "./Badge";

const STATUS: Record<string, { tone: Tone; label: string; hint: string }> = {
  verified: { tone: "success", label: "Verified", hint: "Mailbox confirmed to exist" },
  unverified: { tone: "warning", label: "Unverified", hint: "Not checked yet" },
  guessed: { tone: "info", label: "Guessed", hint: "Inferred from the company's email pattern" },
  unavailable: { tone: "neutral", label: "Unavailable", hint: "No usable email address" },
};

/** An address's verification status (people in search, candidates in a preview). */
export function EmailStatusBadge(props: { status: string }) {
  const s = () => STATUS[props.status] ?? { tone: "neutral" as Tone, label: props.status, hint: "" };
  return (
    <Badge tone={s().tone} dot title={s().hint}>
      {s().label}
    </Badge>
  );
}

/** A contact's email status; bounced and unsubscribed override it, since nobody emails those. */
export function EmailStatus(props: { contact: Pick<Contact, "email_status" | "bounced_at" | "unsubscribed_at"> }) {
  const s = () => {
    if (props.contact.bounced_at) return { tone: "danger" as Tone, label: "Bounced", hint: "Hard bounce: never emailed again" };
    if (props.contact.unsubscribed_at) return { tone: "danger" as Tone, label: "Unsubscribed", hint: "Opted out: never emailed again" };
    return STATUS[props.contact.email_status]!;
  };
  return (
    <Badge tone={s().tone} dot title={s().hint}>
      {s().label}
    </Badge>
  );
}
