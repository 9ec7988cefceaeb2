import { ScheduledEmails } from "../scheduled/ScheduledEmails";

/** The sequence's "Scheduled" tab: its automatic emails not sent yet, each to preview, edit, send now, skip or reschedule. */
export function ScheduledTab(props: { sequenceId: string; active: boolean }) {
  return (
    <ScheduledEmails
      scope={{ sequence_id: props.sequenceId }}
      hide="sequence"
      empty={
        props.active
          ? "Automatic emails waiting for their time or queued in a mailbox appear here with the moment each will go out."
          : "This sequence is off, so nothing will be sent. Turn it on to plan its emails."
      }
    />
  );
}
