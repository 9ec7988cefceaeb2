import type { StepType } from "../api";
import { Icon, type IconName } from "./Icon";

import "./StepType.css";
/** How each step type is named and drawn, everywhere a step appears. */
export const STEP_TYPES: { type: StepType; label: string; icon: IconName; hint: string }[] = [
  { type: "auto_email", label: "Automatic email", icon: "mail", hint: "Sent for you inside the schedule's window" },
  { type: "manual_email", label: "Manual email", icon: "mailEdit", hint: "A task to review and send the email yourself" },
  { type: "call", label: "Phone call", icon: "phone", hint: "A task to call the contact" },
  { type: "linkedin_connect", label: "LinkedIn: connect", icon: "userPlus", hint: "A task to send a connection request" },
  { type: "linkedin_message", label: "LinkedIn: message", icon: "message", hint: "A task to send a LinkedIn message" },
  { type: "linkedin_view", label: "LinkedIn: view profile", icon: "eye", hint: "A task to visit the contact's profile" },
  { type: "task", label: "Action item", icon: "tasks", hint: "A to-do for anything else" },
];

const BY_TYPE = new Map(STEP_TYPES.map((t) => [t.type as string, t]));

export const stepMeta = (type: string) =>
  BY_TYPE.get(type) ?? { type, label: type.replace(/_/g, " "), icon: "tasks" as IconName, hint: "" };
export const isEmailType = (type: string) => type === "auto_email" || type === "manual_email";

/** The type's icon in a tinted square; email steps blue, calls green, LinkedIn sky, tasks grey. */
export function StepIcon(props: { type: string; size?: number }) {
  const tone = () =>
    isEmailType(props.type) ? "email" : props.type === "call" ? "call" : props.type.startsWith("linkedin") ? "linkedin" : "task";
  return (
    <span class={`step-icon step-icon-${tone()}`} aria-hidden="true">
      <Icon name={stepMeta(props.type).icon} size={props.size ?? 16} />
    </span>
  );
}
